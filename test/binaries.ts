// Tests that need a real Prometheus, promtool or Alertmanager: under CI=true a missing binary
// fails the test; elsewhere the test is skipped with a loud message.
import { execFileSync } from 'node:child_process';
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
