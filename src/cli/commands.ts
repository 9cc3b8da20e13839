// The subcommands. Each takes what it needs (argv is parsed in main.ts) and returns an exit code.
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '../config/diagnostics.js';
import { loadConfig } from '../config/load.js';
import { ConfigError, Daemon } from '../daemon.js';
import type { DemoService } from '../demo/service.js';
import { createRedactor, redactDeep } from '../logging/redact.js';
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
  onStop(handler: () => Promise<void>): void;
  onReload(handler: () => Promise<void>): void;
}

export interface ConfigArgs {
  config: string;
  probes?: string;
}

export function check(args: ConfigArgs, io: Io): number {
  const loaded = loadConfig(args.config, { env: io.env, probesDir: args.probes });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d));
    io.err(`${loaded.diagnostics.length} problem(s) found`);
    return EXIT.failed;
  }
  const { settings, probes } = loaded.config;
  io.out(`ok: ${probes.length} probe(s) from ${settings.probesDir}, listening on ${settings.listen}, location ${settings.location}`);
  return EXIT.ok;
}

export async function probe(args: ConfigArgs & { name: string; json: boolean }, io: Io): Promise<number> {
  const loaded = loadConfig(args.config, { env: io.env, probesDir: args.probes });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d));
    return EXIT.config;
  }
  const spec = loaded.config.probes.find((p) => p.name === args.name);
  if (!spec) {
    io.err(`no probe named "${args.name}"; configured: ${loaded.config.probes.map((p) => p.name).join(', ') || '(none)'}`);
    return EXIT.usage;
  }
  const redact = createRedactor(loaded.config.secrets);
  const startedAt = Date.now();
  const signal = AbortSignal.timeout(spec.timeoutMs);
  const result = await runProbe(spec, { signal, runId: randomUUID(), redact }, { slot: startedAt, startedAt });
  io.out(args.json ? JSON.stringify(redactDeep(result, redact), null, 2) : redact(formatResult(result, targetOf(spec))));
  return result.ok ? EXIT.ok : EXIT.failed;
}


/** Starts the daemon, or prints every configuration problem and returns the exit code. */
async function startDaemon(args: ConfigArgs & { listen?: string }, io: Io): Promise<Daemon | number> {
  try {
    return await Daemon.start({ configFile: args.config, probesDir: args.probes, listen: args.listen, env: io.env, clock: systemClock, version: VERSION });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const d of error.diagnostics) io.err(formatDiagnostic(d));
    io.err(`flowprobe: not started: ${error.diagnostics.length} configuration problem(s)`);
    return EXIT.config;
  }
}

/** Runs until stopped; resolves with the exit code. */
export async function run(args: ConfigArgs & { listen?: string }, io: Io, lifecycle: Lifecycle, also: { stop?: () => Promise<void> } = {}): Promise<number> {
  const daemon = await startDaemon(args, io);
  if (typeof daemon === 'number') return daemon;
  lifecycle.onReload(async () => void (await daemon.reload()));
  return new Promise((resolve) =>
    lifecycle.onStop(async () => {
      await daemon.stop();
      await also.stop?.();
      resolve(EXIT.ok);
    }),
  );
}

export const BUNDLED_CONFIG = fileURLToPath(new URL('config/flowprobe.yaml', PACKAGE_ROOT));

/** The demo service on 127.0.0.1:8787 plus a daemon probing it with the bundled probes/. */
export async function demo(args: ConfigArgs & { listen?: string; port: number }, io: Io, lifecycle: Lifecycle): Promise<number> {
  const env = {
    ...io.env,
    DEMO_JWT_SECRET: io.env.DEMO_JWT_SECRET ?? 'demo-only-jwt-secret-change-me',
    DEMO_FAULT_TOKEN: io.env.DEMO_FAULT_TOKEN ?? randomBytes(12).toString('hex'),
  };
  let service: DemoService;
  try {
    // Loaded only here: `run` should not carry the demo's WebSocket server and JWT code.
    const { startDemoService } = await import('../demo/service.js');
    service = await startDemoService({ port: args.port, jwtSecret: env.DEMO_JWT_SECRET, faultToken: env.DEMO_FAULT_TOKEN });
  } catch (error) {
    io.err(`flowprobe demo: cannot start the demo service on 127.0.0.1:${args.port}: ${(error as Error).message}`);
    return EXIT.failed;
  }
  const auth = `-H 'Authorization: Bearer ${env.DEMO_FAULT_TOKEN}'`;
  io.err(
    [
      `demo service on ${service.url}: POST /api/ingest, GET /api/stream (SSE), WS /ws/alerts (JWT), GET /api/dashboard`,
      `break it:   curl -X PUT ${auth} -d '{"errorRate":1}' ${service.url}/api/faults`,
      `mend it:    curl -X PUT ${auth} -d '{"errorRate":0}' ${service.url}/api/faults`,
      `watch it:   curl -s localhost:9464/metrics | grep flowprobe_probe_success   ·   curl -s localhost:9464/api/v1/status`,
    ].join('\n'),
  );
  const code = await run(args, { ...io, env }, lifecycle, { stop: () => service.close() });
  if (code !== EXIT.ok) await service.close();
  return code;
}
