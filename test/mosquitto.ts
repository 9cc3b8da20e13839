// A real MQTT broker for the mqtt kind's tests: Debian's mosquitto on loopback ports, one
// listener open to anyone and one that wants a user and password. Stopped by the caller.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binaryForSuite, findBinary, startServerProcess } from './binaries.js';
import { closedPort } from './servers.js';

export interface Mosquitto {
  /** The anonymous listener's and the password listener's ports. */
  port: number;
  securePort: number;
  user: { name: string; password: string };
  stop(): Promise<void>;
}

/** mosquitto, or undefined when it is not installed (outside CI; under CI that throws). Resolves
 * once it logs that it runs. */
export async function startMosquitto(): Promise<Mosquitto | undefined> {
  const binary = binaryForSuite('mosquitto', 'mosquitto');
  if (!binary) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-mosquitto-'));
  const user = { name: 'probe', password: 'probe-password-0123456789' };
  const passwd = findBinary('mosquitto_passwd');
  if (!passwd) throw new Error('mosquitto_passwd not found beside mosquitto (Debian package mosquitto)');
  execFileSync(passwd, ['-b', '-c', path.join(dir, 'passwd'), user.name, user.password], { stdio: 'ignore' });
  const [port, securePort] = [await closedPort(), await closedPort()];
  const config = [
    'per_listener_settings true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    `listener ${securePort} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${path.join(dir, 'passwd')}`,
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'mosquitto.conf'), config);
  const { stop } = await startServerProcess(binary, ['-c', path.join(dir, 'mosquitto.conf')], /mosquitto version [\d.]+ running/);
  return { port, securePort, user, stop };
}
