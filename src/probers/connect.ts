// A fresh connection per run, with DNS, TCP connect and TLS handshake timed: undici's
// connector hook, shared by every prober that speaks HTTP (http, sse).
import { lookup } from 'node:dns';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { Agent, Client } from 'undici';
import type { TlsSettings } from '../config/fields.js';
import type { Stage } from './classify-error.js';
import { tlsReportOf, type TlsReport } from './tls-report.js';
import type { Phases } from './types.js';

export interface Timeline {
  phases: Phases;
  /** performance.now() when the latest socket was ready (after TLS): first byte is timed from
   * there, and an error after it happened mid-exchange rather than while connecting. */
  connectedAt: number | undefined;
  /** The latest socket's own error code after it connected (ECONNRESET…), even when the HTTP
   * client reads the end of a close-delimited body as a normal end. */
  socketError?: string | undefined;
  /** Which socket socketError is about: an older one's late errors do not count. */
  latestSocket?: object | undefined;
  /** The address the run's first connection went to, and its family. */
  remote?: Remote | undefined;
  /** What the run's first TLS connection showed of the server's certificates. */
  tls?: TlsReport | undefined;
}

/** What a run's request threw, or the socket's own TLS alert when there was one: a server that
 * refuses the client's certificate (TLS 1.3 says so after the handshake) reads to the HTTP
 * client as "other side closed", and the alert is the cause. */
export function causeOf(error: unknown, timeline: Timeline): unknown {
  const own = timeline.socketError;
  return own?.startsWith('ERR_SSL_') ? Object.assign(new Error(own), { code: own }) : error;
}

/** Where a run connected: the address and its IP family. */
export interface Remote {
  address: string;
  family: 4 | 6;
}

export function stageOf(timeline: Timeline): Stage {
  return timeline.connectedAt === undefined ? 'connect' : 'exchange';
}

/** An Agent whose new sockets record their phases in `timeline` and honour `signal`, each
 * request on a connection of its own (SSE subscribers, a flow's hops). */
export function timedAgent(options: TlsSettings, timeline: Timeline, signal: AbortSignal, { connections = 1, family = 0 }: { connections?: number; family?: 0 | 4 | 6 } = {}): Agent {
  return new Agent({ connect: timedConnect(options, timeline, signal, family), connections, pipelining: 0 });
}

/** A client of one origin whose new sockets record their phases in `timeline` and honour
 * `signal`; a connection serves the run's next request to the origin (a redirect). One run to
 * one origin needs no Agent (an origin map and four event forwarders each run). */
export function timedClient(origin: string, options: TlsSettings, timeline: Timeline, signal: AbortSignal, family: 0 | 4 | 6 = 0): Client {
  return new Client(origin, { connect: timedConnect(options, timeline, signal, family), pipelining: 1 });
}

/** What a run's own connections are torn down with once it is over: one error, made once, with
 * its stack already a string. undici builds an error per teardown (a "reset" after each response
 * on a connection that is not reused, a "destroyed" on close) and Node's stream reads its stack:
 * ~10 % of an HTTP probe's CPU at 200 runs/s (profile in docs/benchmarks.md). */
const RUN_OVER = Object.assign(new Error('the probe run is over'), { stack: 'the probe run is over' });

/** Drops a run's agent or client and its sockets now; anything still pending was already answered. */
export function dropDispatcher(dispatcher: Agent | Client): void {
  dispatcher.destroy(RUN_OVER).catch(() => undefined);
}

type Connector = NonNullable<Agent.Options['connect']>;

/** The error of a chain that did not verify: OpenSSL's code (classified as `tls`, in words),
 * and which certificate it was. */
function verifyFailure(socket: tls.TLSSocket, report: TlsReport | undefined): Error {
  const reason = socket.authorizationError as unknown as Error | string | null;
  const code = typeof reason === 'string' ? reason : ((reason as { code?: string } | null)?.code ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  const what = report ? `${report.subject} (leaf${report.sans.length ? `: ${report.sans.slice(0, 4).join(', ')}` : ''}), issuer ${report.issuer}, valid until ${new Date(report.notAfter).toISOString().slice(0, 10)}` : 'no certificate shown';
  return Object.assign(new Error(what), { code });
}

/** An undici connector: each new socket opened (and timed) by openTimedSocket. */
function timedConnect(options: TlsSettings, timeline: Timeline, signal: AbortSignal, family: 0 | 4 | 6): Connector {
  return ((target: { hostname: string; port: string; protocol: string }, callback) => {
    const secure = target.protocol === 'https:';
    openTimedSocket({ hostname: target.hostname, port: Number(target.port) || (secure ? 443 : 80), secure, alpn: ['http/1.1'] }, options, timeline, signal, family).then(
      (socket) => callback(null, socket),
      (error: Error) => callback(error, null),
    );
  }) as Connector;
}

export interface SocketTarget {
  hostname: string;
  port: number;
  /** TLS over the connection (verified unless insecureSkipVerify). */
  secure: boolean;
  alpn?: string[] | undefined;
}

/** The one way a run opens a connection (the HTTP connector, the tls kind): DNS (in the
 * probe's IP family), TCP connect and the TLS handshake, each timed into `timeline`, the
 * address and the server's certificates recorded, the chain verified before anything is
 * written, and the run's signal honoured throughout. */
export function openTimedSocket(target: SocketTarget, options: TlsSettings, timeline: Timeline, signal: AbortSignal, family: 0 | 4 | 6): Promise<net.Socket> {
  const { ca, cert, key, passphrase } = options;
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  const { port, secure } = target;
  return new Promise((resolve, reject) => {
    const dnsStart = performance.now();
    lookup(hostname, { family }, (lookupError, address, found) => {
      if (lookupError) return reject(family === 0 ? lookupError : Object.assign(new Error(`${hostname} has no IPv${family} address (${lookupError.message})`), { code: 'ENODATA_FAMILY' }));
      timeline.remote ??= { address, family: found === 6 ? 6 : 4 };
      if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      timeline.phases.dns = (timeline.phases.dns ?? 0) + (performance.now() - dnsStart);
      const connectStart = performance.now();
      const socket = secure
        ? tls.connect({
            host: address,
            port,
            servername: options.serverName ?? (net.isIP(hostname) ? undefined : hostname),
            ca,
            cert,
            key,
            passphrase,
            // Verified below, before the caller gets the socket (nothing is written until then),
            // so that a chain that fails still shows what it was: whose, which issuer, until when.
            rejectUnauthorized: false,
            ...(target.alpn ? { ALPNProtocols: target.alpn } : {}),
          })
        : net.connect({ host: address, port });
      socket.setNoDelay(true);
      let tlsStart = 0;
      // A target that accepts TCP but never finishes TLS must not keep the socket past the deadline.
      const onAbort = () => done(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (error: Error | null) => {
        socket.removeListener('error', done);
        signal.removeEventListener('abort', onAbort);
        if (error) {
          socket.destroy();
          return reject(error);
        }
        timeline.connectedAt = performance.now();
        timeline.latestSocket = socket;
        timeline.socketError = undefined;
        // The network's code wins over the client's own (undici tears a socket down with
        // UND_ERR_INFO "reset" once a response is complete, which can come first).
        socket.on('error', (err: NodeJS.ErrnoException) => {
          if (timeline.latestSocket === socket && (timeline.socketError === undefined || timeline.socketError.startsWith('UND_'))) timeline.socketError = err.code;
        });
        resolve(socket);
      };
      socket.once('error', done);
      socket.once('connect', () => {
        timeline.phases.connect = (timeline.phases.connect ?? 0) + (performance.now() - connectStart);
        tlsStart = performance.now();
        if (!secure) done(null);
      });
      if (secure) {
        socket.once('secureConnect', () => {
          timeline.phases.tls = (timeline.phases.tls ?? 0) + (performance.now() - tlsStart);
          const tlsSocket = socket as tls.TLSSocket;
          const report = tlsReportOf(tlsSocket);
          timeline.tls ??= report;
          if (!options.insecureSkipVerify && !tlsSocket.authorized) return done(verifyFailure(tlsSocket, report));
          done(null);
        });
      }
    });
  });
}
