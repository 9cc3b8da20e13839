// Idle footprint: RSS of the compiled daemon (dist/, not tsx) with N configured probes that are
// not due during the measurement, beside a bare `node -e` process and a process that only
// imports the runtime packages, in the same run.
//   node dist/bench/idle-footprint.js [--probes 100] [--seconds 10]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, DAEMON_NODE_FLAGS, rssBytes, sleep, startChild, stopChild, table, waitForHttp } from './lib.js';

const probes = arg('probes', 100);
const seconds = arg('seconds', 10);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'dist/src/main.js');
const PACKAGES = ['croner', 'undici', 'ws', 'eventsource-parser', 'prom-client', 'pidusage', 'nodemailer', 'pino'];

async function settledRss(pid: number): Promise<number> {
  await sleep(seconds * 1000);
  return rssBytes(pid);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-idle-'));
mkdirSync(path.join(dir, 'probes'));
writeFileSync(path.join(dir, 'flowprobe.yaml'), 'probesDir: probes\n');
// Hourly probes of a closed port: configured, scheduled, and not due while we measure.
const list = Array.from({ length: probes }, (_, i) => `- name: idle-${i}\n  kind: http\n  every: 1h\n  url: http://127.0.0.1:9/\n`);
writeFileSync(path.join(dir, 'probes', 'idle.yaml'), list.join(''));

console.log(`idle footprint: ${probes} configured probes, RSS after ${seconds}s, Node ${process.version}`);
const bare = startChild(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
const imports = startChild(process.execPath, ['--input-type=module', '-e', `${PACKAGES.map((p) => `await import('${p}');`).join(' ')} setInterval(() => {}, 1000)`], {});
const port = 19000 + Math.floor(Math.random() * 1000);
const daemon = startChild(process.execPath, [...DAEMON_NODE_FLAGS, MAIN, 'run', '--config', path.join(dir, 'flowprobe.yaml'), '--listen', `127.0.0.1:${port}`]);
try {
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
  await fetch(`http://127.0.0.1:${port}/metrics`);
  const [bareRss, importRss, daemonRss] = await Promise.all([settledRss(bare.pid as number), settledRss(imports.pid as number), settledRss(daemon.pid as number)]);
  console.log(
    table([
      { process: 'node -e (bare)', 'RSS MB': bareRss / 1e6 },
      { process: `import ${PACKAGES.length} runtime packages`, 'RSS MB': importRss / 1e6 },
      { process: `flowprobe run, ${probes} probes`, 'RSS MB': daemonRss / 1e6 },
    ]),
  );
  console.log(`\ngoal: < 85 MB for the daemon with ${probes} probes`);
} finally {
  await Promise.all([stopChild(bare), stopChild(imports), stopChild(daemon)]);
}
