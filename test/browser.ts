// Headless Chromium (Debian's package) driven by playwright-core: never a downloaded browser.
// Under CI=true a missing chromium fails the test; elsewhere the test is skipped, loudly.
import { readdirSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { requireBinary } from './binaries.js';

/** The flags a closed network needs: no background fetches, no sync, no first-run work. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(t: TestContext): Promise<Browser | undefined> {
  const executablePath = requireBinary(t, 'chromium', 'chromium');
  if (!executablePath) return undefined;
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/** Chromium processes this test process started (a browser and its helpers, direct children). */
export function chromiumChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && /chrom/i.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
