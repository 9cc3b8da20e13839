// Shared helpers for benchmark scripts: percentiles, /proc readings, child processes, args.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';

import { percentile } from '../src/probers/stats.js';
import type { RunSummary } from '../src/store/store.js';

export { percentile };

/** How the systemd unit and the Dockerfile start node for the daemon: benches run it the same way. */
// DAEMON_NODE_FLAGS="--max-semi-space-size=2" overrides them, to sweep a flag.
export const DAEMON_NODE_FLAGS = process.env.DAEMON_NODE_FLAGS !== undefined ? process.env.DAEMON_NODE_FLAGS.split(' ').filter(Boolean) : ['--max-semi-space-size=4'];

export function summarize(values: readonly number[]): { n: number; p50: number; p99: number; max: number; min: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, min: sorted[0] ?? NaN };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident set size in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(value) ? value : fallback;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function startChild(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): ChildProcess {
  return spawn(command, args, { stdio: options.quiet === false ? 'inherit' : 'ignore', env: { ...process.env, ...options.env } });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs}ms`);
}

export function table(rows: Array<Record<string, string | number>>): string {
  const first = rows[0];
  if (!first) return '';
  const keys = Object.keys(first);
  const cell = (v: string | number | undefined) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : (v ?? ''));
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(keys.map((k) => cell(r[k]))))].join('\n');
}

/** A loopback port nothing listens on (for a child process to take). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** How often the driver sends a batch: every 10 ms is how Prometheus meets blackbox_exporter (it
 * spreads its scrapes over the interval) and how flowprobe's own scheduler spreads its probes
 * (SPREAD_STEP_MS); every 100 ms is the 20-at-once bursts earlier figures were taken with. */
export type DriveSpacing = 10 | 100;

/** blackbox_exporter's /probe driven at `rate` a second, a batch every `spacingMs` (paced from
 * the start, so a late tick catches up), for `ms`, bounded by time; with `tally`, each answer
 * counted as a success or a failure. */
export async function driveProbes(probeUrl: string, rate: number, ms: number, tally?: { done: number; failed: number }, spacingMs: DriveSpacing = 10): Promise<void> {
  const start = Date.now();
  const inflight: Promise<void>[] = [];
  let sent = 0;
  for (let tick = 1; Date.now() - start < ms; tick++) {
    for (const due = Math.round((rate * Math.min(tick * spacingMs, ms)) / 1000); sent < due; sent++) {
      inflight.push(
        fetch(probeUrl).then(async (r) => {
          const text = await r.text();
          if (tally) text.includes('probe_success 1') ? tally.done++ : tally.failed++;
        }),
      );
    }
    await sleep(Math.max(0, start + tick * spacingMs - Date.now()));
  }
  await Promise.all(inflight);
}

/** One of the history benches' runs: the i-th of `probes` probes, one in 97 failed. */
export function historyRun(i: number, at: number, probes: number): RunSummary {
  const failed = i % 97 === 0;
  return { probe: `checkout-api-${i % probes}`, kind: 'http', at, verdict: failed ? 'failed' : 'ok', figure: failed ? undefined : 20 + (i % 50), headline: failed ? 'status: expected 2xx, observed 503' : undefined, phases: { dns: 0.1, connect: 0.4, first_byte: 12.5, download: 0.3 } };
}

/** CPU seconds (user + system, of this process) to make `rate` runs a second for `seconds`,
 * each handed to `keep` (none: made and dropped, the baseline), and the last batch written. */
export async function feedRuns(keep: ((r: RunSummary) => void) | undefined, { rate, seconds, probes }: { rate: number; seconds: number; probes: number }): Promise<number> {
  const before = process.cpuUsage();
  let n = 0;
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const at = Date.now();
    for (let i = 0; i < rate / 10; i++) keep?.(historyRun(n++, at, probes));
    await sleep(100);
  }
  await sleep(1_500); // the last batch
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}
