// What the Docker image's runtime stage carries and how fast its command is ready, measured
// without an engine: the stage's own steps (`npm ci --omit=dev`, the COPY lines of the
// Dockerfile) into a temporary directory, the size of each part, then the image's ENTRYPOINT
// and CMD on the image's config, timed from spawn to /readyz answering 200 — beside a bare
// `node:http` server's spawn-to-answer on the same machine, in the same run.
//   node dist/bench/image.js [--rounds 5]
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, freePort, sleep, stopChild, summarize, table } from './lib.js';

const rounds = arg('rounds', 5);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
// The plain image's stage ("FROM … AS runtime"), up to the next FROM.
const runtimeStart = dockerfile.search(/^FROM \S+ AS runtime$/m);
const runtimeStage = dockerfile.slice(runtimeStart, dockerfile.indexOf('\nFROM ', runtimeStart));

/** The runtime stage, laid out as the image has it: the COPY lines, then the npm install. */
function layOut(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-image-'));
  for (const [, line] of runtimeStage.matchAll(/^COPY (.+)$/gm)) {
    const words = (line as string).split(/\s+/);
    const fromBuild = words[0] === '--from=build';
    const target = words.at(-1) as string;
    for (const source of words.slice(fromBuild ? 1 : 0, -1)) {
      const local = path.join(ROOT, fromBuild ? source.replace(/^\/app\//, '') : source);
      // Paths outside the app's folder (/etc/flowprobe) land in its etc/ under their own name.
      const into = target.startsWith('/') ? path.join(dir, 'etc', path.basename(target)) : target.endsWith('/') ? path.join(dir, target, path.basename(source)) : path.join(dir, target);
      cpSync(local, into, { recursive: true });
    }
  }
  const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`npm ci --omit=dev failed: ${install.stderr}`);
  return dir;
}

function megabytes(dir: string): number {
  const du = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(du.stdout.split('\t')[0]) / 1e6;
}

/** Milliseconds from spawn to `url` answering 200, polled every 5 ms. */
async function startToReady(command: string[], url: string, cwd: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, command, { cwd, stdio: 'ignore', env: { PATH: process.env.PATH, NODE_ENV: 'production' } });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}`);
      if (await fetch(url).then((r) => r.ok, () => false)) return performance.now() - started;
      if (performance.now() - started > 30_000) throw new Error(`${url} not ready within 30 s`);
      await sleep(5);
    }
  } finally {
    await stopChild(child);
  }
}

const dir = layOut();
console.log(`the image's runtime stage without an engine, Node ${process.version}, ${rounds} starts each`);
console.log(
  table(
    ['node_modules', 'dist', 'config', 'probes', 'schema', 'etc'].map((part) => ({ part: part === 'etc' ? 'etc (→ /etc/flowprobe)' : part, MB: megabytes(path.join(dir, part)) })).concat([{ part: 'all the stage adds to the base image', MB: megabytes(dir) }]),
  ),
);

const entrypoint = [...(/^ENTRYPOINT \[(.+)\]$/m.exec(runtimeStage)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1] as string).slice(1);
const cmd = [...(/^CMD \[(.+)\]$/m.exec(runtimeStage)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);
const local = (arg: string) => arg.replace('/opt/flowprobe/', `${dir}/`).replace('/etc/flowprobe/', `${dir}/etc/flowprobe/`);
const timings = { image: [] as number[], bare: [] as number[] };
for (let round = 0; round < rounds; round++) {
  const port = await freePort();
  const state = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-image-state-'));
  timings.image.push(await startToReady([...entrypoint.map(local), ...cmd.map(local), '--listen', `127.0.0.1:${port}`, '--state', state], `http://127.0.0.1:${port}/readyz`, dir));
  const barePort = await freePort();
  timings.bare.push(await startToReady(['-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${barePort}, '127.0.0.1')`], `http://127.0.0.1:${barePort}/`, dir));
}
const row = (what: string, values: number[]) => ({ process: what, ...Object.fromEntries(Object.entries(summarize(values)).filter(([k]) => k !== 'p99').map(([k, v]) => [`${k}${k === 'n' ? '' : ' ms'}`, v])) });
console.log(`\n${table([row(`image command (${[...entrypoint, ...cmd].join(' ')}) → /readyz 200`, timings.image), row('bare node:http server → first 200', timings.bare)])}`);
