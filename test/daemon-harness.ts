// Starts a real Daemon on 127.0.0.1:0 with a temp config, capturing its JSON log lines.
import { Daemon } from '../src/daemon.js';
import { systemClock } from '../src/scheduler/clock.js';
import { configDir, type ConfigDir } from './config-dir.js';
import { waitFor } from './wait.js';

export interface Harness {
  daemon: Daemon;
  dir: ConfigDir;
  logs: string[];
  base: string;
  get(path: string): Promise<{ status: number; text: string }>;
  /** Resolves when a log line matching `predicate` has been written. */
  logged(predicate: (line: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
}

export async function startDaemon(config: string, probes: Record<string, string>, env: Record<string, string> = {}): Promise<Harness> {
  const dir = configDir(config, probes);
  const logs: string[] = [];
  const daemon = await Daemon.start({
    configFile: dir.configFile,
    env,
    clock: systemClock,
    version: '0.0.0-test',
    listen: '127.0.0.1:0',
    // Tests wait on every result's log line, good runs included (those are debug).
    logLevel: 'debug',
    logDestination: { write: (line: string) => void logs.push(line) },
  });
  const base = `http://127.0.0.1:${daemon.address?.port}`;
  return {
    daemon,
    dir,
    logs,
    base,
    async get(path) {
      const res = await fetch(`${base}${path}`);
      return { status: res.status, text: await res.text() };
    },
    logged: (predicate, what) =>
      waitFor(what, () => logs.map((l) => JSON.parse(l) as Record<string, unknown>).find(predicate), 10_000, 10),
  };
}
