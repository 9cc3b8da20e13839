// A real DNS server for the dns kind's tests: Debian's dnsmasq on a loopback port, with its own
// records (no upstream, no hosts file, no config file: it answers what the test gave it and
// REFUSED for the rest). Stopped with the test.
import dgram from 'node:dgram';
import net from 'node:net';
import { binaryForSuite, startServerProcess } from './binaries.js';

export interface Dnsmasq {
  port: number;
  /** "127.0.0.1:PORT", as a probe's servers: entry names it. */
  server: string;
  stop(): Promise<void>;
}

/** A port free for both UDP and TCP on 127.0.0.1 (dnsmasq serves both on one port). */
export async function freeDnsPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve) => udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)));
    const tcpFree = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    udp.close();
    if (tcpFree) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1 after 20 tries');
}

/** dnsmasq with these options (--host-record=…, --txt-record=…), or undefined when it is not
 * installed (outside CI; under CI that throws). Resolves once it logs that it started; the
 * caller stops it. */
export async function startDnsmasq(options: string[]): Promise<Dnsmasq | undefined> {
  const binary = binaryForSuite('dnsmasq', 'dnsmasq-base');
  if (!binary) return undefined;
  const port = await freeDnsPort();
  const { stop } = await startServerProcess(binary, [
    '--keep-in-foreground', '--log-facility=-', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--user=', '--group=', '--pid-file=', '--local-ttl=300',
    ...options,
  ], /started, version/);
  return { port, server: `127.0.0.1:${port}`, stop };
}
