// test-runner: alone (it starts headless Chromium, which can starve a test file beside it)
// The systemd unit's seccomp filter with a browser probe: the daemon and the Chromium it starts
// both run under exactly the unit's SystemCallFilter (the rest of the unit: service.test.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { requireBinary } from '../binaries.js';
import { runsUnderFilter, unitFilter } from '../seccomp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = path.join(ROOT, 'systemd/flowprobe.service');

it('runs a browser probe with its Chromium under the unit\'s seccomp filter', { timeout: 90_000 }, async (t) => {
  const filter = unitFilter(t, UNIT);
  if (!filter || !requireBinary(t, 'chromium', 'chromium')) return;
  await runsUnderFilter(filter, process.execPath, path.join(ROOT, 'dist/src/main.js'), { browser: true });
});
