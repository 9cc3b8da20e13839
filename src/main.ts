#!/usr/bin/env node
// The entry point: argv and env in, signals wired, exit code out. The only module that touches `process`.
import { Command, InvalidArgumentError } from 'commander';
import { alerts, backupHistory, BUNDLED_CONFIG, check, demo, EXIT, healthcheck, probe, run, testReceiver, type Io, type Lifecycle } from './cli/commands.js';
import { VERSION } from './version.js';

const io: Io = {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** SIGTERM/SIGINT stop gracefully; a second one writes the state (given at most 1 s) and
 * exits with 128 + the signal's number (143 for SIGTERM, 130 for SIGINT). SIGHUP reloads. */
const lifecycle: Lifecycle = {
  onStop(handler, saveNow) {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        const code = 128 + (signal === 'SIGINT' ? 2 : 15);
        io.err(`flowprobe: ${signal} again: writing state and exiting with ${code}`);
        setTimeout(() => process.exit(code), 1_000).unref();
        try {
          saveNow?.();
        } finally {
          process.exit(code);
        }
      }
      stopping = true;
      handler().catch((error: unknown) => {
        io.err(`flowprobe: error while stopping: ${String(error)}`);
        process.exit(EXIT.failed);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
  onReload(handler) {
    process.on('SIGHUP', () => void handler());
  },
};

const defaultConfig = process.env.FLOWPROBE_CONFIG ?? 'config/flowprobe.yaml';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

const program = new Command()
  .name('flowprobe')
  .description('Synthetic monitoring for real-time services: HTTP, SSE, WebSocket and end-to-end probes.')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

program
  .command('run')
  .description('run the daemon: probe on schedule, serve /metrics and /api/v1/status (SIGHUP reloads)')
  .option('-c, --config <file>', 'daemon config (env FLOWPROBE_CONFIG)', defaultConfig)
  .option('-p, --probes <dir>', "probe files directory (overrides the config's probesDir)")
  .option('-l, --listen <host:port>', "listen address (overrides the config's listen)")
  .option('-s, --state <dir>', "state directory (overrides the config's stateDir)")
  .action(async (opts: { config: string; probes?: string; listen?: string; state?: string }) => {
    process.exitCode = await run(opts, io, lifecycle);
  });

program
  .command('healthcheck')
  .description("exit 0 when the daemon of this config answers /healthz (for a container HEALTHCHECK)")
  .option('-c, --config <file>', 'daemon config (env FLOWPROBE_CONFIG)', defaultConfig)
  .option('-l, --listen <host:port>', "where the daemon listens (overrides the config's listen)")
  .action(async (opts: { config: string; listen?: string }) => {
    process.exitCode = await healthcheck(opts, io);
  });

program
  .command('check')
  .description('validate the config and probe files; exit 1 listing every problem')
  .option('-c, --config <file>', 'daemon config (env FLOWPROBE_CONFIG)', defaultConfig)
  .option('-p, --probes <dir>', "probe files directory (overrides the config's probesDir)")
  .action((opts: { config: string; probes?: string }) => {
    process.exitCode = check(opts, io);
  });

program
  .command('probe')
  .description('run one probe once and print its phases and checks (exit 1 if it fails)')
  .argument('<name>', 'probe name')
  .option('-c, --config <file>', 'daemon config (env FLOWPROBE_CONFIG)', defaultConfig)
  .option('-p, --probes <dir>', "probe files directory (overrides the config's probesDir)")
  .option('--json', 'print the result as JSON', false)
  .action(async (name: string, opts: { config: string; probes?: string; json: boolean }) => {
    process.exitCode = await probe({ ...opts, name }, io);
  });

program
  .command('alerts')
  .description("list the running daemon's firing alerts and silences")
  .option('-c, --config <file>', 'daemon config (env FLOWPROBE_CONFIG)', defaultConfig)
  .option('--json', 'print JSON', false)
  .action(async (opts: { config: string; json: boolean }) => {
    process.exitCode = await alerts(opts, io);
  });

program
  .command('backup-history')
  .description('copy the history database consistently while the daemon runs')
  .argument('<file>', 'the copy (a new file)')
  .option('-c, --config <file>', 'daemon config (env FLOWPROBE_CONFIG)', defaultConfig)
  .option('-s, --state <dir>', "state directory (overrides the config's stateDir)")
  .action(async (to: string, opts: { config: string; state?: string }) => {
    process.exitCode = await backupHistory({ ...opts, to }, io);
  });

program
  .command('test-receiver')
  .description('send a clearly marked test notification to one receiver, through the real delivery path')
  .argument('<name>', 'receiver name')
  .option('-c, --config <file>', 'daemon config (env FLOWPROBE_CONFIG)', defaultConfig)
  .action(async (name: string, opts: { config: string }) => {
    process.exitCode = await testReceiver({ ...opts, name }, io);
  });

program
  .command('demo')
  .description('start the bundled demo service and a daemon probing it (the quick start)')
  .option('-c, --config <file>', 'daemon config', BUNDLED_CONFIG)
  .option('-p, --probes <dir>', "probe files directory (overrides the config's probesDir)")
  .option('-l, --listen <host:port>', "daemon listen address (overrides the config's listen)")
  .option('-s, --state <dir>', "state directory (overrides the config's stateDir)")
  .option('--port <port>', 'demo service port (the bundled probes expect 8787)', port, 8787)
  .option('--host <host>', 'demo service address (0.0.0.0 in a container, so its fault switch is reachable)', '127.0.0.1')
  .action(async (opts: { config: string; probes?: string; state?: string; listen?: string; port: number; host: string }) => {
    process.exitCode = await demo(opts, io, lifecycle);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = (error as { exitCode?: number; code?: string }).exitCode;
  if (typeof code === 'number') process.exitCode = code === 0 ? EXIT.ok : EXIT.usage;
  else {
    io.err(`flowprobe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = EXIT.failed;
  }
}
