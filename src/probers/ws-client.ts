// The WebSocket client every WebSocket-speaking part uses — the websocket prober and the flow's
// watchers: auth (a static token, or a JWT minted per run from a key imported at load), a
// timed handshake whose refusals are classified, and a Connection whose messages land in an
// Inbox (a close or error ends every wait with a failure).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import type { TlsSettings } from '../config/fields.js';
import type { WsAuth } from '../config/probe-fields.js';
import { formatDuration } from '../config/units.js';
import { classifyCause, classifyError } from './classify-error.js';
import { Inbox } from './messages.js';
import { causeOf, openTimedSocket, type Remote, type Timeline } from './connect.js';
import type { TlsReport } from './tls-report.js';
import type { Failure, Phases } from './types.js';

const INBOX_LIMIT = 10_000;
const AUTH_CLOSE_CODES = new Set([1008, 4001, 4003]);

export interface Auth {
  url: string;
  headers: Record<string, string>;
  protocols: string[];
}

interface AuthTarget {
  url: string;
  headers: Record<string, string>;
  subprotocols?: string[] | undefined;
  auth?: WsAuth | undefined;
}

/** URL, headers and subprotocols for this run, with a token or a freshly minted JWT. */
export async function authFor(target: AuthTarget): Promise<Auth> {
  const url = new URL(target.url);
  const headers = { ...target.headers };
  const protocols = [...(target.subprotocols ?? [])];
  if (!target.auth) return { url: url.toString(), headers, protocols };
  const { token, place, name } =
    'jwt' in target.auth
      ? { token: await mintJwt(target.auth.jwt), place: target.auth.jwt.in, name: target.auth.jwt.name }
      : { token: target.auth.token, place: target.auth.in, name: target.auth.name };
  if (place === 'query') url.searchParams.set(name ?? 'token', token);
  else if (place === 'subprotocol') protocols.push(token);
  else headers[name ?? 'authorization'] = name ? token : `Bearer ${token}`;
  return { url: url.toString(), headers, protocols };
}

type JwtOptions = Extract<WsAuth, { jwt: unknown }>['jwt'];

async function mintJwt(options: JwtOptions): Promise<string> {
  const { key } = options;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(options.claims as Record<string, unknown>)
    .setProtectedHeader({ alg: options.algorithm })
    .setIssuedAt(now)
    .setExpirationTime(now + Math.max(1, Math.round(options.expiresIn / 1000)))
    .sign(key);
}


export interface SocketTarget extends Auth {
  /** With the CA's bytes, read once at load. */
  tls: TlsSettings;
  /** dns.lookup's family: 0 for whatever comes first. */
  family?: 0 | 4 | 6;
  maxPayload: number;
}

/** Opens a socket the way every prober does (openTimedSocket: dns/connect/tls timed into
 * `phases`, the chain verified before the upgrade request — with its token — is written, the
 * certificates and address into `seen`), then upgrades it; a refusal is classified, not thrown. */
export async function connectWebSocket(target: SocketTarget, signal: AbortSignal, phases: Phases, seen: { tls?: TlsReport | undefined; remote?: Remote | undefined } = {}): Promise<{ conn: Connection; handshakeMs: number } | { failure: Failure }> {
  const started = performance.now();
  const url = new URL(target.url);
  const secure = url.protocol === 'wss:';
  const timeline: Timeline = { phases, connectedAt: undefined };
  let socket: net.Socket;
  try {
    socket = await openTimedSocket({ hostname: url.hostname, port: Number(url.port) || (secure ? 443 : 80), secure, alpn: ['http/1.1'] }, target.tls, timeline, signal, target.family ?? 0);
  } catch (error) {
    return { failure: classifyOpenError(causeOf(error, timeline) as Error, signal, false) };
  } finally {
    seen.tls ??= timeline.tls;
    seen.remote ??= timeline.remote;
  }
  const connectedAt = timeline.connectedAt ?? started;
  const ws = new WebSocket(target.url, target.protocols, {
    headers: target.headers,
    maxPayload: target.maxPayload,
    perMessageDeflate: false,
    // The connection is made and verified already: the upgrade goes over it.
    createConnection: (() => socket) as unknown as WebSocket.ClientOptions['createConnection'],
  });
  // Listening from the start: a server may send (or break) before our `open` handler runs.
  const conn = new Connection(ws);
  const outcome = await new Promise<Failure | undefined>((resolve) => {
    const onAbort = () => resolve(classifyError(signal.reason, signal, 'connect'));
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (failure: Failure | undefined) => {
      signal.removeEventListener('abort', onAbort);
      resolve(failure);
    };
    ws.once('open', () => settle(undefined));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      settle(
        status === 401 || status === 403
          ? { code: 'auth', message: `upgrade refused with ${status}${authChallenge(res.headers['www-authenticate'])}` }
          : { code: 'handshake', message: `expected 101 Switching Protocols, got ${status}` },
      );
    });
    ws.once('error', (error) => settle(classifyOpenError(error, signal, connectedAt !== undefined)));
  });
  if (outcome) {
    ws.removeAllListeners();
    ws.on('error', () => undefined);
    ws.terminate();
    return { failure: outcome };
  }
  phases.first_byte = performance.now() - connectedAt;
  return { conn, handshakeMs: performance.now() - started };
}

/** What the server said about the credentials (RFC 6750: error, error_description), briefly. */
function authChallenge(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (!value) return '';
  const field = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(value)?.[1];
  const error = field('error');
  const description = field('error_description');
  const said = [error, description].filter(Boolean).join(': ') || value;
  // Not cut to size here: run-probe removes secrets first and shortens after (a cut before the
  // redaction left the first 25 characters of a token in the headline). Bounded, far past that cut.
  return `: ${said.slice(0, 4_096)}`;
}

/** Errors before `open`: network errors keep their class; the rest broke the handshake. */
function classifyOpenError(error: Error, signal: AbortSignal, connected: boolean): Failure {
  const classified = classifyError(error, signal, connected ? 'exchange' : 'connect');
  if (classified.code !== 'internal') return classified;
  return { code: 'handshake', message: error.message };
}

/** The socket, with what it received in an Inbox. */
export class Connection {
  readonly inbox = new Inbox(INBOX_LIMIT);
  sent = 0;
  closed: { code: number; reason: string } | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.inbox.push(data.toString()));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.inbox.fail(closeFailure(code, reason.toString()));
    });
    ws.on('error', (error) => {
      const classified = classifyCause(error, 'exchange');
      this.inbox.fail(classified.code === 'internal' ? { code: 'protocol', message: error.message } : classified);
    });
  }

  get received(): number {
    return this.inbox.received;
  }

  send(text: string): void {
    this.sent++;
    this.ws.send(text);
  }

  /** Sends a ping and waits for its pong: RTT in ms, or a failure (a half-open socket times out). */
  async ping(withinMs: number, signal: AbortSignal): Promise<number | Failure> {
    const sentAt = performance.now();
    let ponged = false;
    const onPong = () => {
      ponged = true;
      this.inbox.poke();
    };
    this.ws.once('pong', onPong);
    this.ws.ping();
    try {
      while (!ponged) {
        const gone = this.inbox.failure(signal);
        if (gone) return gone;
        const left = sentAt + withinMs - performance.now();
        if (left <= 0) return { code: 'timeout', message: `no pong within ${formatDuration(withinMs)}: the connection is half-open or the server stopped answering` };
        await this.inbox.nextEvent(left, signal);
      }
      return performance.now() - sentAt;
    } finally {
      this.ws.off('pong', onPong);
    }
  }

  /** Closes politely (bounded), then makes sure the socket is gone. */
  async shutdown(): Promise<void> {
    const ws = this.ws;
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    ws.terminate();
  }
}

function closeFailure(code: number, reason: string): Failure {
  const why = reason ? ` (${reason})` : '';
  if (AUTH_CLOSE_CODES.has(code)) return { code: 'auth', message: `server closed with ${code}${why}: credentials rejected or expired` };
  if (code === 1006) return { code: 'closed', message: 'connection dropped without a close frame (1006)' };
  if (code === 1009) return { code: 'protocol', message: `message too big (1009)${why}` };
  return { code: 'closed', message: `server closed with ${code}${why}` };
}
