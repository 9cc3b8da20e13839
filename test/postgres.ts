// A real PostgreSQL for the history store's fleet tests: Debian's postgresql binaries
// (/usr/lib/postgresql/N/bin), a fresh cluster in a temporary directory, TCP on loopback only,
// trust authentication for one user. It can be stopped and started again on the same port (the
// store going away and coming back). PostgreSQL refuses to run as root: as root, it runs as
// nobody.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedPort } from './servers.js';

export interface Postgres {
  /** postgres://flowprobe@127.0.0.1:PORT/DATABASE for a database made by `database()`. */
  url(database: string): string;
  /** Makes a new, empty database. */
  database(name: string): Promise<string>;
  /** Stops the server (fast shutdown: connections are closed). */
  stop(): Promise<void>;
  /** Starts it again on the same port, with everything it had. */
  start(): Promise<void>;
  /** Stops it and removes the cluster. */
  close(): Promise<void>;
  /** The postmaster's process id (its backends are its children). */
  pid(): number;
}

/** The directory of Debian's PostgreSQL binaries (the newest version installed). */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(root, versions[0], 'bin');
}

/** A running cluster, or undefined when PostgreSQL is not installed (outside CI; under CI that
 * throws, as every test binary does). */
export async function startPostgres(): Promise<Postgres | undefined> {
  const bin = binDir();
  if (!bin) {
    const message = 'PostgreSQL not found in /usr/lib/postgresql/*/bin: install the Debian package postgresql (apt-get install -y postgresql)';
    if (process.env.CI === 'true') throw new Error(`${message}; CI requires it`);
    process.stderr.write(`\n!!! SKIPPING the tests that need PostgreSQL: ${message}\n\n`);
    return undefined;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-pg-'));
  const data = path.join(dir, 'data');
  const root = process.getuid?.() === 0;
  if (root) chownSync(dir, 65534, 65534);
  const as = (binary: string, args: string[]): [string, string[]] => (root ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', path.join(bin, binary), ...args]] : [path.join(bin, binary), args]);
  const [initdb, initArgs] = as('initdb', ['-D', data, '-U', 'flowprobe', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  execFileSync(initdb, initArgs, { stdio: 'pipe' });
  const port = await closedPort();
  let child: ChildProcess | undefined;

  const start = async () => {
    const [postgres, args] = as('postgres', ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', "unix_socket_directories=", '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50']);
    const started = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    // Never outlives the test process, whatever failed before close().
    const reap = () => started.kill('SIGKILL');
    process.once('exit', reap);
    started.once('exit', () => process.removeListener('exit', reap));
    let log = '';
    await new Promise<void>((resolve, reject) => {
      started.stderr?.setEncoding('utf8');
      started.stderr?.on('data', (chunk: string) => {
        log += chunk;
        if (/ready to accept connections/.test(log)) resolve();
      });
      started.once('exit', (code) => reject(new Error(`postgres exited (${code}) before it was ready: ${log.trim().slice(-2000)}`)));
      started.once('error', reject);
    });
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return resolve();
      running.once('exit', () => resolve());
      running.kill('SIGINT'); // fast shutdown
    });
  await start();
  const url = (database: string) => `postgres://flowprobe@127.0.0.1:${port}/${database}`;
  return {
    url,
    database: async (name) => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '')}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop,
    start,
    pid: () => child?.pid ?? 0,
    close: async () => {
      await stop();
      execFileSync('rm', ['-rf', dir]);
    },
  };
}
