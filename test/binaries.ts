// Tests that need a real Prometheus, promtool or Alertmanager: under CI=true a missing binary
// fails the test; elsewhere the test is skipped with a loud message.
import { execFileSync, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';

export function findBinary(name: string): string | undefined {
  try {
    // Daemons (dnsmasq, mosquitto) live in /usr/sbin, which a non-root PATH may lack.
    return execFileSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The binary's path, or undefined after skipping the test (outside CI) — under CI it throws. */
export function requireBinary(t: TestContext, name: string, debianPackage: string): string | undefined {
  const found = findBinary(name);
  if (found) return found;
  const message = `${name} not found: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI requires it`);
  process.stderr.write(`\n!!! SKIPPING: ${message}\n\n`);
  t.skip(message);
  return undefined;
}

/** For a suite's before hook (which cannot skip): the binary's path, or undefined after saying
 * loudly that the suite's tests will skip (outside CI) — under CI it throws. */
export function binaryForSuite(name: string, debianPackage: string): string | undefined {
  const found = findBinary(name);
  if (found) return found;
  const message = `${name} not found: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI requires it`);
  process.stderr.write(`\n!!! SKIPPING the tests that need ${name}: ${message}\n\n`);
  return undefined;
}

/** A server binary started by a test (dnsmasq, mosquitto): resolves once its log (stderr)
 * says `ready`; rejects with the log if it exits first. `stop` ends it (SIGTERM) and waits. */
export async function startServerProcess(binary: string, args: string[], ready: RegExp): Promise<{ stop(): Promise<void> }> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      log += chunk;
      if (ready.test(log)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${binary} exited (${code}) before it was ready: ${log.trim().slice(-2000)}`)));
    child.once('error', reject);
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { stop };
}
