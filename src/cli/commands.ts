// The subcommands. Each takes what it needs (argv is parsed in main.ts) and returns an exit code.
import { randomBytes, randomUUID } from 'node:crypto';
import { Chromium } from '../probers/chromium.js';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Alert } from '../alerting/alert.js';
import { AlertEngine } from '../alerting/engine.js';
import type { Silence } from '../alerting/maintenance.js';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '../config/diagnostics.js';
import { isUnknownProbe, loadConfig } from '../config/load.js';
import { listenAddress } from '../config/schema.js';
import { NO_RECEIVER } from '../server/status.js';
import { ConfigError, Daemon, ListenError } from '../daemon.js';
import type { DemoService } from '../demo/service.js';
import type { DestinationStream } from 'pino';
import { humanLines } from '../logging/logger.js';
import { createRedactor, redactDeep } from '../logging/redact.js';
import { deadlineReason } from '../probers/classify-error.js';
import { runProbe, targetOf } from '../probers/run-probe.js';
import { systemClock } from '../scheduler/clock.js';
import { PACKAGE_ROOT, VERSION } from '../version.js';
import { formatResult } from './format.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, config: 78 } as const;

export interface Io {
  env: Readonly<Record<string, string | undefined>>;
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Stop/reload hooks that main.ts connects to SIGTERM/SIGINT and SIGHUP. */
export interface Lifecycle {
  /** `saveNow` writes the state at once (a second stop signal does not wait for the grace). */
  onStop(handler: () => Promise<void>, saveNow?: () => void): void;
  onReload(handler: () => Promise<void>): void;
}

export interface ConfigArgs {
  config: string;
  probes?: string;
  state?: string;
}

export function check(args: ConfigArgs, io: Io): number {
  const loaded = loadConfig(args.config, { env: io.env, probesDir: args.probes, verifyStateDir: true });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d));
    io.err(`${loaded.diagnostics.length} problem(s) found`);
    return EXIT.failed;
  }
  const { settings, probes, probesDefined } = loaded.config;
  const { shard } = settings;
  const share = shard.count > 1 ? `; shard ${shard.index} of ${shard.count} (numbered from 0) runs ${probes.length} of them` : '';
  io.out(`ok: ${probesDefined} probe(s) from ${settings.probesDir}, listening on ${settings.listen}, location ${settings.location}${share}`);
  if (settings.alerting.receivers.length === 0 && probesDefined > 0) io.err(`warning: ${NO_RECEIVER}`);
  return EXIT.ok;
}

export async function probe(args: ConfigArgs & { name: string; json: boolean }, io: Io): Promise<number> {
  // This probe's file alone is checked: another probe's unset ${ENV} does not block it.
  const loaded = loadConfig(args.config, { env: io.env, probesDir: args.probes, probes: { only: args.name } });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d));
    return loaded.diagnostics.some(isUnknownProbe) ? EXIT.usage : EXIT.config;
  }
  const [spec] = loaded.config.probes;
  if (!spec) return EXIT.usage;
  const redact = createRedactor(loaded.config.secrets);
  const startedAt = Date.now();
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(deadlineReason(spec.timeoutMs)), spec.timeoutMs);
  // A browser step starts its own Chromium for this one run.
  let chromium: Chromium | undefined;
  const browser = () => (chromium ??= new Chromium({ maxPages: 1, executable: loaded.config.settings.browser.executable }));
  const result = await runProbe(spec, { signal: controller.signal, runId: randomUUID(), redact, browser }, { slot: startedAt, startedAt }).finally(() => clearTimeout(deadline));
  await chromium?.close();
  io.out(args.json ? JSON.stringify(redactDeep(result, redact), null, 2) : redact(formatResult(result, targetOf(spec))));
  return result.ok ? EXIT.ok : EXIT.failed;
}


/** How the demo's daemon talks: warnings and worse, as lines a person reads. */
interface Voice {
  logLevel: string;
  logDestination: DestinationStream;
}

/** Starts the daemon, or prints every configuration problem and returns the exit code. */
async function startDaemon(args: ConfigArgs & { listen?: string }, io: Io, voice: Voice | undefined): Promise<Daemon | number> {
  try {
    return await Daemon.start({ configFile: args.config, probesDir: args.probes, stateDir: args.state, listen: args.listen, env: io.env, clock: systemClock, version: VERSION, ...voice });
  } catch (error) {
    if (error instanceof ListenError) {
      io.err(`flowprobe: not started: ${error.message}`);
      return EXIT.config;
    }
    if (!(error instanceof ConfigError)) throw error;
    for (const d of error.diagnostics) io.err(formatDiagnostic(d));
    io.err(`flowprobe: not started: ${error.diagnostics.length} configuration problem(s)`);
    return EXIT.config;
  }
}

/** Runs until stopped; resolves with the exit code. */
export async function run(
  args: ConfigArgs & { listen?: string },
  io: Io,
  lifecycle: Lifecycle,
  also: { stop?: () => Promise<void>; started?: (daemon: Daemon) => void; voice?: Voice } = {},
): Promise<number> {
  const starting = startDaemon(args, io, also.voice);
  // The signals are ours before the daemon has started (nothing above has waited yet): a SIGHUP
  // or SIGTERM that comes while it starts acts once it has started, instead of killing the
  // process, which is what they do with no handler.
  let daemon: Daemon | undefined;
  const stopped = new Promise<number>((resolve) =>
    lifecycle.onStop(
      async () => {
        const started = await starting;
        if (typeof started !== 'number') await started.stop();
        await also.stop?.();
        resolve(EXIT.ok);
      },
      () => daemon?.saveState(),
    ),
  );
  lifecycle.onReload(async () => {
    const started = await starting;
    if (typeof started !== 'number') await started.reload();
  });
  const started = await starting;
  if (typeof started === 'number') return started;
  daemon = started;
  also.started?.(daemon);
  return stopped;
}

/** Where a daemon listening on this address answers (0.0.0.0 → 127.0.0.1). */
function daemonUrl(address: { host: string; port: number } | undefined): string {
  const host = !address || address.host === '0.0.0.0' || address.host === '::' ? '127.0.0.1' : address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host}:${address?.port ?? 9464}`;
}

/** Exit 0 when the daemon of this config answers /healthz within 3 s (a container HEALTHCHECK). */
export async function healthcheck(args: ConfigArgs & { listen?: string }, io: Io): Promise<number> {
  const loaded = loadConfig(args.config, { env: io.env, probesDir: args.probes, probes: 'none' });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d));
    return EXIT.config;
  }
  const url = `${daemonUrl(listenAddress(args.listen ?? loaded.config.settings.listen))}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    if (res.ok) return (io.out(`healthy: ${url}`), EXIT.ok);
    io.err(`unhealthy: ${url} answered ${res.status}`);
  } catch (error) {
    io.err(`unhealthy: no answer from ${url}: ${(error as Error).message}`);
  }
  return EXIT.failed;
}

/** A consistent copy of the history database, taken while the daemon runs (SQLite's VACUUM
 * INTO reads one snapshot; the daemon's writes go on). Refuses to overwrite a file. */
export async function backupHistory(args: ConfigArgs & { to: string }, io: Io): Promise<number> {
  const loaded = loadConfig(args.config, { env: io.env, probesDir: args.probes, stateDir: args.state, probes: 'none' });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d));
    return EXIT.config;
  }
  const { history } = loaded.config.settings;
  if (history.store !== 'sqlite') return (io.err(history.store === 'postgres' ? 'flowprobe backup-history: the history is in PostgreSQL (history.postgres): back it up with pg_dump, like any PostgreSQL database' : 'flowprobe backup-history: no history is kept (history.store: none)'), EXIT.failed);
  const file = path.join(loaded.config.settings.stateDir, 'history.db');
  if (!existsSync(file)) return (io.err(`flowprobe backup-history: no history database at ${file}`), EXIT.failed);
  if (existsSync(args.to)) return (io.err(`flowprobe backup-history: ${args.to} exists: give a new file`), EXIT.failed);
  try {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      db.prepare('VACUUM INTO ?').run(args.to);
    } finally {
      db.close();
    }
  } catch (error) {
    io.err(`flowprobe backup-history: cannot copy ${file} to ${args.to}: ${(error as Error).message}`);
    return EXIT.failed;
  }
  io.out(`copied ${file} to ${args.to} (${(statSync(args.to).size / 1e6).toFixed(1)} MB)`);
  return EXIT.ok;
}

/** Lists the running daemon's alerts and silences (from its /api/v1/alerts). */
export async function alerts(args: ConfigArgs & { json: boolean }, io: Io): Promise<number> {
  // Only the listen address is needed: probe files are not read.
  const loaded = loadConfig(args.config, { env: io.env, probesDir: args.probes, probes: 'none' });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d));
    return EXIT.config;
  }
  const listen = daemonUrl(listenAddress(loaded.config.settings.listen));
  let body: { alerts: Alert[]; silences: Silence[] };
  try {
    const res = await fetch(`${listen}/api/v1/alerts`, { signal: AbortSignal.timeout(5000) });
    body = (await res.json()) as typeof body;
  } catch (error) {
    io.err(`flowprobe alerts: cannot reach the daemon at ${listen}: ${(error as Error).message}`);
    return EXIT.failed;
  }
  if (args.json) return (io.out(JSON.stringify(body, null, 2)), EXIT.ok);
  const firing = body.alerts.filter((a) => a.status === 'firing');
  io.out(firing.length === 0 ? 'no alerts firing' : `${firing.length} alert(s) firing:`);
  for (const a of firing) io.out(`  🔴 ${a.labels.alertname} ${a.labels.probe ?? a.labels.process ?? a.labels.receiver ?? ''} [${a.labels.severity}] since ${isoDate(a.startsAt)}\n     ${a.summary}`);
  for (const s of body.silences) io.out(`  🔇 silence ${s.id} until ${isoDate(s.endsAt)}: ${JSON.stringify(s.matchers)} — ${s.comment} (${s.createdBy})`);
  return EXIT.ok;
}

/** A time from the daemon's answer as a date, or the raw number when it is not a valid date. */
function isoDate(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

/** Sends a clearly marked test notification through the real path (outbox, sender, receiver)
 * and reports how it went. It uses its own scratch state, never the daemon's outbox. */
export async function testReceiver(args: ConfigArgs & { name: string }, io: Io): Promise<number> {
  // The receivers are in the daemon config: no probe file is read (an unset ${ENV} of a probe
  // does not block a test of the pager).
  const loaded = loadConfig(args.config, { env: io.env, probesDir: args.probes, probes: 'none' });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d));
    return EXIT.config;
  }
  const { alerting: config, location } = loaded.config.settings;
  if (!config.receivers.some((r) => r.name === args.name)) {
    io.err(`no receiver named "${args.name}"; configured: ${config.receivers.map((r) => r.name).join(', ') || '(none)'}`);
    return EXIT.usage;
  }
  const redact = createRedactor(loaded.config.secrets);
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-test-receiver-'));
  const deadline = Date.now() + Math.max(30_000, config.timeout * 3);
  const outcome = await new Promise<{ ok: boolean; text: string }>((resolve) => {
    const engine = new AlertEngine({
      clock: systemClock,
      stateDir,
      location,
      config: { ...config, receivers: config.receivers.filter((r) => r.name === args.name), retry: { initial: 1000, max: 5000 } },
      events: {
        attempt: (_receiver, _n, delivery, attempts) => {
          if (delivery.ok) return (engine.stop(), resolve({ ok: true, text: `delivered to ${args.name} (attempt ${attempts})` }));
          io.err(redact(`attempt ${attempts}: ${delivery.reason}: ${delivery.message}${delivery.retry ? ' (will retry)' : ''}`));
          if (!delivery.retry || Date.now() > deadline) (engine.stop(), resolve({ ok: false, text: `not delivered to ${args.name}` }));
        },
        decision: () => undefined,
        saveError: (error) => io.err(`cannot write scratch state: ${String(error)}`),
      },
    });
    engine.start();
    engine.test(args.name);
  });
  rmSync(stateDir, { recursive: true, force: true });
  (outcome.ok ? io.out : io.err)(outcome.text);
  return outcome.ok ? EXIT.ok : EXIT.failed;
}

export const BUNDLED_CONFIG = fileURLToPath(new URL('config/flowprobe.yaml', PACKAGE_ROOT));

/** The demo service on 127.0.0.1:8787 plus a daemon probing it with the bundled probes/. */
export async function demo(args: ConfigArgs & { listen?: string; port: number; host?: string }, io: Io, lifecycle: Lifecycle): Promise<number> {
  const env = {
    ...io.env,
    DEMO_JWT_SECRET: io.env.DEMO_JWT_SECRET ?? 'demo-only-hs256-secret-change-me-please',
    DEMO_FAULT_TOKEN: io.env.DEMO_FAULT_TOKEN ?? randomBytes(12).toString('hex'),
  };
  let service: DemoService;
  let demoFaults: (typeof import('../demo/service.js'))['DEMO_FAULTS'];
  try {
    // Loaded only here: `run` should not carry the demo's WebSocket server and JWT code.
    const demoModule = await import('../demo/service.js');
    const { startDemoService } = demoModule;
    demoFaults = demoModule.DEMO_FAULTS;
    service = await startDemoService({ host: args.host, port: args.port, jwtSecret: env.DEMO_JWT_SECRET, faultToken: env.DEMO_FAULT_TOKEN, onPage: (text) => io.out(text) });
  } catch (error) {
    io.err(`flowprobe demo: cannot start the demo service on ${args.host ?? '127.0.0.1'}:${args.port}: ${(error as Error).message}`);
    return EXIT.failed;
  }
  const auth = `-H 'Authorization: Bearer ${env.DEMO_FAULT_TOKEN}'`;
  // A service on every address (in a container) is reached from here through loopback.
  const faults = `${service.url.replace('//0.0.0.0:', '//127.0.0.1:')}/api/faults`;
  const banner = (daemon: Daemon) => {
    const page = daemonUrl(daemon.address);
    const width = Math.max(...demoFaults.map((f) => f.name.length));
    io.out(
      [
        '',
        `flowprobe demo — open the status page: ${page}/`,
        `  it probes a demo service on ${service.url} (ingest → SSE stream → WebSocket alerts → dashboard API)`,
        '',
        'break one thing (the page turns its probes red within ~15 s; on-call pages print here):',
        ...demoFaults.map((f) => `  ${f.name.padEnd(width)}  curl -X PUT ${auth} -d '${JSON.stringify(f.breaks)}' ${faults}\n  ${''.padEnd(width)}  # ${f.effect}; mend: -d '${JSON.stringify(f.mends)}'`),
        '',
        `mend everything:  curl -X DELETE ${auth} ${faults}`,
        `also:             ${page}/alerts · ${page}/metrics · ${page}/api/v1/status`,
        '',
      ].join('\n'),
    );
  };
  const voice = { logLevel: 'warn', logDestination: humanLines(io.out) };
  const code = await run(args, { ...io, env }, lifecycle, { stop: () => service.close(), started: banner, voice });
  if (code !== EXIT.ok) await service.close();
  return code;
}
