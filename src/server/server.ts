// The daemon's HTTP face: the status page for humans (src/web), /metrics for Prometheus,
// /healthz and /readyz for supervisors, /api/v1/status and /api/v1/alerts for tools. Only the
// silences API writes, and it needs the token.
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Registry } from 'prom-client';
import { formatKeyPath, zodMessage } from '../config/diagnostics.js';
import { listenAddress } from '../config/schema.js';
import { silenceInput, type SilenceInput } from '../alerting/maintenance.js';
import { pingQuery, type PingQuery } from '../probers/heartbeat/book.js';
import { historyRoute, type HistoryDeps } from './history.js';
import type { StatusSite } from '../web/site.js';
import type { Logger } from '../logging/logger.js';
import { exposition } from '../metrics/metrics.js';

export interface ServerDeps {
  registry: Registry;
  /** JSON for /api/v1/status (a line per probe) and ?probe=NAME (one probe in full; undefined
   * when there is no such probe), already free of secrets. */
  status: { summary(): unknown; probe(name: string): unknown };
  /** The status page; it serves what it knows and says false otherwise. */
  site: StatusSite;
  ready: () => boolean;
  logger: Logger;
  /** JSON for /api/v1/alerts. */
  alerts: () => unknown;
  silences: {
    list(): unknown;
    add(input: SilenceInput): unknown | { refused: string };
    remove(id: string): boolean;
    /** The probes whose ProbeFailing alert these matchers would mute now. */
    matching(input: SilenceInput): string[];
  };
  /** The token write endpoints require; undefined disables them. */
  apiToken: () => string | undefined;
  heartbeats: {
    /** The token of the heartbeat probe NAME; undefined when there is no such heartbeat. */
    token(name: string): string | undefined;
    /** Records a ping whose token was right. */
    ping(name: string, query: PingQuery): { accepted: true; next: number | undefined } | { accepted: false; retryAfterMs: number };
  };
  /** The history store's API and badges. */
  history: HistoryDeps;
}

export function createServer(deps: ServerDeps): http.Server {
  const server = http.createServer((req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      deps.logger.error({ err }, 'request handler failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}

async function handle(deps: ServerDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname.startsWith('/api/v1/silences')) return silences(deps, req, res, url);
  if (url.pathname.startsWith('/api/v1/heartbeats/')) return heartbeat(deps, req, res, url);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD' });
  switch (url.pathname) {
    case '/metrics':
      return send(res, 200, deps.registry.contentType, await exposition(deps.registry));
    case '/healthz':
      return send(res, 200, 'text/plain', 'ok\n');
    case '/readyz':
      return deps.ready() ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'not ready\n');
    case '/api/v1/status': {
      const name = url.searchParams.get('probe');
      if (name === null) return json(res, 200, deps.status.summary());
      const doc = deps.status.probe(name);
      return doc === undefined ? json(res, 404, { error: `no probe named "${name.slice(0, 200)}"` }) : json(res, 200, doc);
    }
    case '/api/v1/alerts':
      return json(res, 200, deps.alerts());
    default: {
      const reply = await historyRoute(deps.history, url);
      if (reply) return send(res, reply.status, reply.type, reply.body, reply.headers);
      if (await deps.site.handle(req, res, url)) return;
      return send(res, 404, 'text/plain', 'not found: the status page is at /, the API at /api/v1/status\n');
    }
  }
}

/** GET lists; POST creates (JSON: matchers, duration, comment, createdBy); DELETE /ID removes.
 * Writes need "Authorization: Bearer <apiToken>". */
async function silences(deps: ServerDeps, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const collection = url.pathname === '/api/v1/silences';
  const one = /^\/api\/v1\/silences\/[^/]+$/.test(url.pathname);
  if (!collection && !one) return json(res, 404, { error: `no such endpoint: ${url.pathname.slice(0, 100)}` });
  if (collection && req.method === 'GET') return json(res, 200, deps.silences.list());
  const allowed = collection ? ['GET', 'POST'] : ['DELETE'];
  if (!allowed.includes(req.method ?? '')) return send(res, 405, 'text/plain', 'method not allowed\n', { allow: allowed.join(', ') });
  const refused = authorize(deps.apiToken(), req.headers.authorization);
  if (refused) return json(res, refused.status, { error: refused.message });
  if (req.method === 'DELETE') {
    const id = url.pathname.slice('/api/v1/silences/'.length);
    return deps.silences.remove(id) ? json(res, 200, { removed: id }) : json(res, 404, { error: `no silence ${id}` });
  }
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) {
    res.setHeader('connection', 'close');
    return json(res, 413, { error: `expected a body of at most ${MAX_BODY_BYTES} bytes` });
  }
  const input = parseSilence(body);
  if (typeof input === 'string') return json(res, 400, { error: input });
  // What it would mute right now: with ?dryRun=true that is all that happens.
  const silencing = deps.silences.matching(input);
  if (url.searchParams.get('dryRun') === 'true') return json(res, 200, { dryRun: true, silencing });
  const added = deps.silences.add(input);
  if (isRefusal(added)) return json(res, 409, { error: added.refused });
  deps.logger.info({ matchers: input.matchers, duration_ms: input.duration, created_by: input.createdBy, silencing: silencing.length }, 'silence created');
  return json(res, 201, { ...(added as object), silencing });
}

/** POST /api/v1/heartbeats/NAME[?status=fail&duration=12m&msg=…] with "Authorization: Bearer
 * <the heartbeat's token>": a job checking in. The body, if any, is not read. */
async function heartbeat(deps: ServerDeps, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  let name: string;
  try {
    name = decodeURIComponent(url.pathname.slice('/api/v1/heartbeats/'.length));
  } catch {
    return json(res, 404, { error: 'no heartbeat probe by that name (the path is not valid percent-encoding)' });
  }
  if (req.method !== 'POST') return send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'POST' });
  req.resume();
  const token = deps.heartbeats.token(name);
  if (token === undefined) return json(res, 404, { error: `no heartbeat probe named "${name.slice(0, 100)}"` });
  if (!tokenMatches(req.headers.authorization, token)) return json(res, 401, { error: 'expected Authorization: Bearer <the heartbeat\'s token>' });
  const query = pingQuery.safeParse(Object.fromEntries(url.searchParams), { error: zodMessage });
  if (!query.success) return json(res, 400, { error: query.error.issues.map((i) => `${formatKeyPath(i.path as Array<string | number>) || 'query'}: ${i.message}`).join('; ') });
  const result = deps.heartbeats.ping(name, query.data);
  if (!result.accepted) return json(res, 429, { error: `too many pings for ${name}: at most one a second after a burst of 10` }, { 'retry-after': String(Math.ceil(result.retryAfterMs / 1000)) });
  return json(res, 200, { ok: true, status: query.data.status, nextDueBy: result.next === undefined ? undefined : new Date(result.next).toISOString() });
}

const MAX_BODY_BYTES = 16 * 1024;

function isRefusal(value: unknown): value is { refused: string } {
  return typeof value === 'object' && value !== null && 'refused' in value;
}

function authorize(token: string | undefined, header: string | undefined): { status: number; message: string } | undefined {
  if (!token) return { status: 403, message: 'write endpoints are disabled: set apiToken in the daemon config' };
  return tokenMatches(header, token) ? undefined : { status: 401, message: 'expected Authorization: Bearer <apiToken>' };
}

/** "Bearer <token>", compared by digest: constant time, and equal lengths whatever was sent. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = header?.startsWith('Bearer ') ? header.slice(7) : '';
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

const SILENCE_EXAMPLE = '{"matchers": {"probe": "api"}, "duration": "2h", "comment": "...", "createdBy": "..."}';

/** The body through the same validating schema the state file uses: every problem named. */
function parseSilence(body: string): SilenceInput | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return `expected a JSON body: ${SILENCE_EXAMPLE}`;
  }
  const parsed = silenceInput.safeParse(value, { error: zodMessage });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = formatKeyPath(issue.path as Array<string | number>);
    return key ? `${key}: ${issue.message}` : issue.message;
  });
  return `${problems.join('; ')} (expected ${SILENCE_EXAMPLE})`;
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json', `${JSON.stringify(body, null, 2)}\n`, headers);
}

/** A whole answer with its length (no body for HEAD). */
export function send(res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** The listen address cannot be bound: a configuration problem (exit 78), said in plain words. */
export class ListenError extends Error {
  constructor(
    readonly address: string,
    readonly reason: NodeJS.ErrnoException,
  ) {
    super(`cannot listen on ${address}: ${LISTEN_WHY[reason.code ?? ''] ?? reason.message}`);
  }
}

const LISTEN_WHY: Record<string, string> = {
  EADDRINUSE: 'the port is already in use by another process',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: "the address is not one of this host's addresses",
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name cannot be resolved right now',
};

/** Listens on "host:port" (port 0 picks a free one); resolves with the bound address, or
 * rejects with a ListenError that says why in words. */
export function listen(server: http.Server, address: string): Promise<{ host: string; port: number }> {
  const parsed = listenAddress(address);
  if (!parsed) return Promise.reject(new ListenError(address, Object.assign(new Error(`expected host:port like 127.0.0.1:9464`), { code: 'EINVAL' })));
  const { host, port } = parsed;
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new ListenError(address, error));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      const bound = server.address();
      resolve({ host, port: typeof bound === 'object' && bound ? bound.port : port });
    });
  });
}
