// CPU per run of each network kind: the flowprobe daemon (full path: schedule, probe, checks,
// metrics, history, log) running `rate` probes of one kind a second against a local server,
// beside Debian's prometheus-blackbox-exporter driven at the same rate with its tcp, dns and
// grpc modules where it has one, in the same run. Each prober is its own process, measured
// from /proc; the servers run in this process or their own (dnsmasq, mosquitto), unmeasured.
//   node dist/bench/kinds.js [--rate 100] [--seconds 10]
import { writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import healthCheck, { HealthImplementation } from 'grpc-health-check';
import mqtt from 'mqtt';
import { startDnsmasq } from '../test/dnsmasq.js';
import { startMosquitto } from '../test/mosquitto.js';
import { testPki } from '../test/tls.js';
import { arg, cpuSeconds, DAEMON_NODE_FLAGS, driveProbes, freePort, rssBytes, sleep, startChild, stopChild, table, waitForHttp } from './lib.js';

const rate = arg('rate', 100);
const seconds = arg('seconds', 10);
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const WARM_MS = 3_000;

interface Measured {
  runs: number;
  failed: number;
  cpu: number;
  rss: number;
}

async function counter(metricsUrl: string, name: string, filter: (line: string) => boolean = () => true): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) && filter(line)) sum += Number(line.split(' ').pop());
  return sum;
}

/** `rate` probes of one kind, every 1 s each, in a daemon of their own. */
async function measureFlowprobe(kind: string, probe: (i: number) => string, env: Record<string, string> = {}): Promise<Measured> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `flowprobe-bench-${kind}-`));
  mkdirSync(path.join(dir, 'probes'));
  writeFileSync(path.join(dir, 'flowprobe.yaml'), 'probesDir: probes\nstateDir: state\nscheduler: { maxConcurrent: 512 }\nresources: { interval: 1h }\n');
  writeFileSync(path.join(dir, 'probes', 'bench.yaml'), Array.from({ length: rate }, (_, i) => probe(i)).join(''));
  const port = await freePort();
  const daemon = startChild(process.execPath, [...DAEMON_NODE_FLAGS, MAIN, 'run', '--config', path.join(dir, 'flowprobe.yaml'), '--listen', `127.0.0.1:${port}`], { env });
  const metrics = `http://127.0.0.1:${port}/metrics`;
  try {
    await waitForHttp(metrics);
    await sleep(WARM_MS);
    const pid = daemon.pid as number;
    const runs = () => counter(metrics, 'flowprobe_probe_runs_total');
    const failed = () => counter(metrics, 'flowprobe_probe_runs_total', (l) => l.includes('result="failure"'));
    const [cpu0, runs0, failed0] = [cpuSeconds(pid), await runs(), await failed()];
    await sleep(seconds * 1000);
    const [cpu1, runs1, failed1] = [cpuSeconds(pid), await runs(), await failed()];
    return { runs: runs1 - runs0, failed: failed1 - failed0, cpu: cpu1 - cpu0, rss: rssBytes(pid) };
  } finally {
    await stopChild(daemon);
  }
}

/** blackbox_exporter's /probe for one module and target, `rate` a second. */
async function measureBlackbox(module: string, target: string): Promise<Measured> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-blackbox-'));
  writeFileSync(path.join(dir, 'blackbox.yml'), `modules:\n  bench:\n${module.replace(/^/gm, '    ')}\n`);
  const port = await freePort();
  const blackbox = startChild('prometheus-blackbox-exporter', [`--config.file=${path.join(dir, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${port}`]);
  const probeUrl = `http://127.0.0.1:${port}/probe?module=bench&target=${encodeURIComponent(target)}`;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/metrics`);
    const pid = blackbox.pid as number;
    const tally = { done: 0, failed: 0 };
    // In bursts of rate/10 every 100 ms, as docs/benchmarks.md's kinds figures were taken (spread
    // every 10 ms, as Prometheus scrapes, costs blackbox more: see bench:http).
    await driveProbes(probeUrl, rate, WARM_MS, undefined, 100);
    const cpu0 = cpuSeconds(pid);
    await driveProbes(probeUrl, rate, seconds * 1000, tally, 100);
    return { runs: tally.done + tally.failed, failed: tally.failed, cpu: cpuSeconds(pid) - cpu0, rss: rssBytes(pid) };
  } finally {
    await stopChild(blackbox);
  }
}

const row = (prober: string, m: Measured) => ({ prober, runs: m.runs, failed: m.failed, 'runs/s': m.runs / seconds, 'CPU µs/run': m.runs ? (m.cpu * 1e6) / m.runs : 0, 'RSS MB': m.rss / 1e6 });

console.log(`Probe kinds: CPU per run, ${rate} probes/s of each kind for ${seconds}s (after ${WARM_MS / 1000}s warm-up), Node ${process.version}`);
const rows: Array<ReturnType<typeof row>> = [];
const hasBlackbox = await new Promise<boolean>((resolve) => startChild('prometheus-blackbox-exporter', ['--version']).on('exit', (code) => resolve(code === 0)).on('error', () => resolve(false)));
if (!hasBlackbox) console.log('(prometheus-blackbox-exporter not installed: no baseline rows; apt-get install prometheus-blackbox-exporter)');

// tcp: a server that answers PING with +PONG.
const tcpServer = net.createServer((s) => s.on('data', (d) => d.toString().startsWith('PING') && s.end('+PONG\r\n')).on('error', () => undefined));
await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
const tcpPort = (tcpServer.address() as net.AddressInfo).port;
rows.push(row('flowprobe tcp (send, reply)', await measureFlowprobe('tcp', (i) => `- name: t${i}\n  kind: tcp\n  every: 1s\n  timeout: 900ms\n  url: tcp://127.0.0.1:${tcpPort}\n  send: "PING\\r\\n"\n  expect: { reply: { matches: '^\\+PONG' } }\n`)));
if (hasBlackbox) rows.push(row('blackbox tcp (query_response)', await measureBlackbox('prober: tcp\ntimeout: 900ms\ntcp:\n  preferred_ip_protocol: ip4\n  query_response:\n    - send: "PING"\n    - expect: "^\\\\+PONG"', `127.0.0.1:${tcpPort}`)));

// tls: the handshake and the certificate figures.
const pki = testPki();
const tlsServer = tls.createServer({ cert: Buffer.concat([pki.viaIntermediate.cert, pki.intermediate.cert]), key: pki.viaIntermediate.key }, (s) => s.end());
tlsServer.on('tlsClientError', () => undefined);
await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
const tlsPort = (tlsServer.address() as net.AddressInfo).port;
rows.push(row('flowprobe tls (handshake, certificates)', await measureFlowprobe('tls', (i) => `- name: s${i}\n  kind: tls\n  every: 1s\n  timeout: 900ms\n  url: tls://127.0.0.1:${tlsPort}\n  tls: { ca: ${pki.root.certFile} }\n  expect: { certExpiresIn: 1d }\n`)));
if (hasBlackbox) rows.push(row('blackbox tcp (tls: true)', await measureBlackbox(`prober: tcp\ntimeout: 900ms\ntcp:\n  preferred_ip_protocol: ip4\n  tls: true\n  tls_config:\n    ca_file: ${pki.root.certFile}`, `127.0.0.1:${tlsPort}`)));

// dns: dnsmasq with one record.
const dnsmasq = await startDnsmasq(['--local=/bench.test/', '--host-record=api.bench.test,127.0.0.5']);
if (dnsmasq) {
  rows.push(row('flowprobe dns (A, exact answer)', await measureFlowprobe('dns', (i) => `- name: d${i}\n  kind: dns\n  every: 1s\n  timeout: 900ms\n  query: api.bench.test\n  servers: ["${dnsmasq.server}"]\n  expect: { answers: { exact: ["127.0.0.5"] } }\n`)));
  if (hasBlackbox) rows.push(row('blackbox dns (A, answer regexp)', await measureBlackbox('prober: dns\ntimeout: 900ms\ndns:\n  preferred_ip_protocol: ip4\n  query_name: api.bench.test\n  query_type: A\n  validate_answer_rrs:\n    fail_if_none_matches_regexp: ["127\\\\.0\\\\.0\\\\.5"]', dnsmasq.server)));
  await dnsmasq.stop();
} else console.log('(dnsmasq not installed: no dns rows)');

// grpc: a grpc-js health server.
const health = new HealthImplementation({ '': 'SERVING' });
const grpcServer = new grpc.Server();
health.addToServer(grpcServer);
const grpcPort = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
void healthCheck;
rows.push(row('flowprobe grpc (Check)', await measureFlowprobe('grpc', (i) => `- name: g${i}\n  kind: grpc\n  every: 1s\n  timeout: 900ms\n  url: grpc://127.0.0.1:${grpcPort}\n`)));
if (hasBlackbox) rows.push(row('blackbox grpc (Check)', await measureBlackbox('prober: grpc\ntimeout: 900ms\ngrpc:\n  preferred_ip_protocol: ip4\n  tls: false', `127.0.0.1:${grpcPort}`)));

// mqtt: mosquitto, a publisher every 20 ms; each run waits for one live message.
const broker = await startMosquitto();
if (broker) {
  const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
  const ticker = setInterval(() => publisher.publish('bench/live', JSON.stringify({ ts: Date.now() })), 20);
  rows.push(row('flowprobe mqtt (subscribe, 1 live message)', await measureFlowprobe('mqtt', (i) => `- name: m${i}\n  kind: mqtt\n  every: 1s\n  timeout: 900ms\n  url: mqtt://127.0.0.1:${broker.port}\n  topics: [bench/live]\n  hold: 500ms\n  messageTime: $.ts\n`)));
  clearInterval(ticker);
  await publisher.endAsync(true);
  await broker.stop();
} else console.log('(mosquitto not installed: no mqtt row)');

// heartbeat: no network at all: the judgement of the pings the daemon holds.
rows.push(row('flowprobe heartbeat (judge the pings)', await measureFlowprobe('heartbeat', (i) => `- name: h${i}\n  kind: heartbeat\n  every: 1s\n  timeout: 900ms\n  token: \${HB_TOKEN}\n  pings: { every: 1h }\n`, { HB_TOKEN: 'bench-heartbeat-token-0123456789' })));

tcpServer.close();
tlsServer.close();
grpcServer.forceShutdown();
console.log(table(rows));
