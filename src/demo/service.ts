// The bundled demo: a small analytics service to probe. Ingest API → in-memory store → SSE
// stream → WebSocket alert channel (JWT) → dashboard API, with a fault switch to break each hop.
//
//   POST /api/ingest            {"marker": "...", "value": 42}  → 202 {"id": 17}
//   GET  /api/stream            text/event-stream, ids, Last-Event-ID replay, heartbeats
//   WS   /ws/alerts?token=JWT   every stored event as JSON; {"type":"ping",…} → pong; {"type":"echo",…} back
//   GET  /api/dashboard         latest items and counts, refreshed every dashboardRefreshMs
//   GET  /dashboard             the dashboard page people look at: it renders each event as it
//                               comes (its own SSE client on /ui/stream), newest first
//   GET  /api/faults            the fault switch; PUT a patch of it (DEMO_FAULTS), DELETE to mend
//                               everything, both with "Authorization: Bearer <token>"
//   POST /oncall                a stand-in pager: flowprobe's webhook notifications are printed
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { jwtVerify } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';

export interface Faults {
  /** Added delay per hop, in ms. */
  latencyMs: { ingest: number; stream: number; ws: number; dashboard: number; ui: number };
  /** Share of events (0..1) not delivered to streams and sockets. */
  dropRate: number;
  /** The SSE stream keeps its connections open but sends nothing. */
  stallStream: boolean;
  /** New stream and socket connections are closed at once. */
  closeSockets: boolean;
  /** Share of ingest and dashboard requests (0..1) answered with 503. */
  errorRate: number;
  /** The dashboard stops refreshing. */
  staleDashboard: boolean;
  /** The dashboard page stops updating (its stream goes silent); the API stays fresh. */
  staleUi: boolean;
  /** The dashboard page logs a console error with every event it renders. */
  uiErrors: boolean;
  /** One hop alters each event's `value` (adds 1) before passing it on. */
  corruptHop: 'none' | 'stream' | 'ws' | 'dashboard' | 'ui';
}

/** What PUT /api/faults accepts: any of the faults, each within its range; nothing else. */
const hopMs = z.number().int().min(0).max(60_000);
export const faultPatch = z.strictObject({
  latencyMs: z.strictObject({ ingest: hopMs, stream: hopMs, ws: hopMs, dashboard: hopMs, ui: hopMs }).partial().optional(),
  dropRate: z.number().min(0).max(1).optional(),
  stallStream: z.boolean().optional(),
  closeSockets: z.boolean().optional(),
  errorRate: z.number().min(0).max(1).optional(),
  staleDashboard: z.boolean().optional(),
  staleUi: z.boolean().optional(),
  uiErrors: z.boolean().optional(),
  corruptHop: z.enum(['none', 'stream', 'ws', 'dashboard', 'ui']).optional(),
});

export type FaultPatch = z.output<typeof faultPatch>;

/** Every fault, how to break with it and what it does — the demo's banner and the 400 answer. */
export const DEMO_FAULTS: ReadonlyArray<{ name: keyof Faults; breaks: FaultPatch; mends: FaultPatch; effect: string }> = [
  { name: 'errorRate', breaks: { errorRate: 1 }, mends: { errorRate: 0 }, effect: 'ingest and dashboard answer 503 (0..1 of requests)' },
  { name: 'latencyMs', breaks: { latencyMs: { ws: 300 } }, mends: { latencyMs: { ws: 0 } }, effect: 'one hop is slow (ms per hop: ingest, stream, ws, dashboard, ui; up to 60000)' },
  { name: 'dropRate', breaks: { dropRate: 0.5 }, mends: { dropRate: 0 }, effect: 'events are lost on the stream and the socket (0..1)' },
  { name: 'stallStream', breaks: { stallStream: true }, mends: { stallStream: false }, effect: 'the SSE stream stays open and goes silent' },
  { name: 'closeSockets', breaks: { closeSockets: true }, mends: { closeSockets: false }, effect: 'new stream and socket connections are closed at once' },
  { name: 'staleDashboard', breaks: { staleDashboard: true }, mends: { staleDashboard: false }, effect: 'the dashboard API stops refreshing' },
  { name: 'staleUi', breaks: { staleUi: true }, mends: { staleUi: false }, effect: 'the dashboard page stops updating; its API stays fresh' },
  { name: 'uiErrors', breaks: { uiErrors: true }, mends: { uiErrors: false }, effect: 'the dashboard page logs a console error per event' },
  { name: 'corruptHop', breaks: { corruptHop: 'stream' }, mends: { corruptHop: 'none' }, effect: 'one hop alters each event (none, stream, ws, dashboard, ui)' },
];

export const NO_FAULTS: Faults = {
  latencyMs: { ingest: 0, stream: 0, ws: 0, dashboard: 0, ui: 0 },
  dropRate: 0,
  stallStream: false,
  closeSockets: false,
  errorRate: 0,
  staleDashboard: false,
  staleUi: false,
  uiErrors: false,
  corruptHop: 'none',
};

export interface DemoOptions {
  host?: string;
  port?: number;
  jwtSecret: string;
  faultToken: string;
  /** Synthetic traffic: one generated event every tickMs (0: none). */
  tickMs?: number;
  dashboardRefreshMs?: number;
  heartbeatMs?: number;
  random?: () => number;
  /** The demo's "on-call pager": flowprobe's webhook notifications land here (POST /oncall). */
  onPage?: (text: string) => void;
}

export interface DemoEvent {
  id: number;
  type: string;
  at: number;
  marker?: string;
  value?: unknown;
}

/** Server-side times (epoch ms, sub-ms) of one marked event at each hop, for benchmarks. */
export interface HopTimes {
  ingestAt: number;
  streamAt?: number;
  wsAt?: number;
  dashboardAt?: number;
}

export interface DemoService {
  url: string;
  wsUrl: string;
  faults: Faults;
  setFaults(patch: FaultPatch): void;
  ingest(event: Omit<DemoEvent, 'id' | 'at'>): DemoEvent;
  /** When the event with this marker passed each hop (the last 10,000 markers). */
  hopTimes(marker: string): HopTimes | undefined;
  close(): Promise<void>;
}

const STORE_LIMIT = 1000;
const DASHBOARD_ITEMS = 50;

export async function startDemoService(options: DemoOptions): Promise<DemoService> {
  const random = options.random ?? Math.random;
  const secret = new TextEncoder().encode(options.jwtSecret);
  const events: DemoEvent[] = [];
  const streams = new Set<http.ServerResponse>();
  const pages = new Set<http.ServerResponse>();
  const sockets = new Set<WebSocket>();
  let nextId = 1;
  let faults: Faults = structuredClone(NO_FAULTS);
  let dashboard = { updatedAt: new Date().toISOString(), count: 0, items: [] as DemoEvent[] };

  const hops = new Map<string, HopTimes>();
  const now = () => performance.timeOrigin + performance.now();
  const stamp = (event: DemoEvent, hop: 'streamAt' | 'wsAt' | 'dashboardAt') => {
    const times = event.marker === undefined ? undefined : hops.get(event.marker);
    if (times && times[hop] === undefined) times[hop] = now();
  };
  const later = (ms: number, fn: () => void) => (ms > 0 ? void setTimeout(fn, ms) : fn());
  const dropped = () => faults.dropRate > 0 && random() < faults.dropRate;

  function ingest(input: Omit<DemoEvent, 'id' | 'at'>): DemoEvent {
    const event: DemoEvent = { ...input, id: nextId++, at: Date.now() };
    if (event.marker !== undefined) {
      hops.set(event.marker, { ingestAt: now() });
      if (hops.size > 10_000) hops.delete(hops.keys().next().value as string);
    }
    events.push(event);
    if (events.length > STORE_LIMIT) events.splice(0, events.length - STORE_LIMIT);
    if (!faults.stallStream && !dropped()) {
      const sent = at('stream', event);
      later(faults.latencyMs.stream, () => {
        stamp(event, 'streamAt');
        streams.forEach((res) => writeEvent(res, sent));
      });
    }
    if (!faults.staleUi) {
      const shown = at('ui', event);
      later(faults.latencyMs.ui, () => {
        for (const res of pages) {
          res.write(`data: ${JSON.stringify(shown)}\n\n`);
          if (faults.uiErrors) res.write(`event: ui-error\ndata: could not render the chart for event ${shown.id}\n\n`);
        }
      });
    }
    if (!dropped()) {
      const message = JSON.stringify({ type: 'event', event: at('ws', event) });
      later(faults.latencyMs.ws, () => {
        stamp(event, 'wsAt');
        sockets.forEach((ws) => ws.send(message));
      });
    }
    return event;
  }

  /** The event as a hop passes it on: altered if the fault switch says this hop corrupts. */
  function at(hop: Faults['corruptHop'], event: DemoEvent): DemoEvent {
    return faults.corruptHop === hop && typeof event.value === 'number' ? { ...event, value: event.value + 1 } : event;
  }

  function refreshDashboard(): void {
    if (faults.staleDashboard) return;
    dashboard = { updatedAt: new Date().toISOString(), count: nextId - 1, items: events.slice(-DASHBOARD_ITEMS).reverse().map((e) => at('dashboard', e)) };
    for (const item of dashboard.items) stamp(item, 'dashboardAt');
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  });

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://demo');
    const key = `${req.method} ${url.pathname}`;
    switch (key) {
      case 'GET /healthz':
        return json(res, 200, { ok: true });
      case 'POST /api/ingest':
        return handleIngest(req, res);
      case 'GET /api/stream':
        return handleStream(req, res);
      case 'GET /api/dashboard':
        if (faults.errorRate > 0 && random() < faults.errorRate) return later(faults.latencyMs.dashboard, () => json(res, 503, { error: 'dashboard unavailable' }));
        return later(faults.latencyMs.dashboard, () => json(res, 200, dashboard));
      case 'GET /dashboard':
        return text(res, 'text/html; charset=utf-8', DASHBOARD_HTML);
      case 'GET /dashboard.js':
        return text(res, 'text/javascript; charset=utf-8', DASHBOARD_JS);
      case 'GET /ui/stream':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write('retry: 1000\n\n');
        pages.add(res);
        res.on('close', () => pages.delete(res));
        return;
      case 'GET /api/faults':
        return json(res, 200, faults);
      case 'GET /api/hop-times':
        return json(res, 200, hops.get(url.searchParams.get('marker') ?? '') ?? null);
      case 'PUT /api/faults':
        return handleFaults(req, res);
      case 'DELETE /api/faults':
        if (!authorized(req.headers.authorization, options.faultToken)) return json(res, 401, { error: 'expected Authorization: Bearer <fault token>' });
        setFaults(structuredClone(NO_FAULTS));
        return json(res, 200, faults);
      case 'POST /oncall':
        return handlePage(req, res);
      default:
        return json(res, 404, { error: 'not found' });
    }
  }

  async function handleIngest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (body === undefined || typeof body !== 'object' || body === null) return json(res, 400, { error: 'expected a JSON object' });
    if (faults.errorRate > 0 && random() < faults.errorRate) return later(faults.latencyMs.ingest, () => json(res, 503, { error: 'ingest unavailable' }));
    const { marker, value, type } = body as { marker?: unknown; value?: unknown; type?: unknown };
    later(faults.latencyMs.ingest, () => {
      const event = ingest({ type: typeof type === 'string' ? type : 'ingest', value, ...(typeof marker === 'string' ? { marker } : {}) });
      json(res, 202, { id: event.id, at: event.at });
    });
  }

  function handleStream(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (faults.closeSockets) return void req.socket.destroy();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    const lastId = Number(req.headers['last-event-id']);
    if (Number.isFinite(lastId)) for (const event of events) if (event.id > lastId) writeEvent(res, event);
    streams.add(res);
    res.on('close', () => streams.delete(res));
  }

  async function handleFaults(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!authorized(req.headers.authorization, options.faultToken)) return json(res, 401, { error: 'expected Authorization: Bearer <fault token>' });
    const parsed = faultPatch.safeParse(await readJson(req));
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
      return json(res, 400, { error: `expected a JSON object of faults: ${problems.join('; ')}`, valid: Object.fromEntries(DEMO_FAULTS.map((f) => [f.name, { example: f.breaks, mend: f.mends, effect: f.effect }])) });
    }
    setFaults(parsed.data);
    return json(res, 200, faults);
  }

  async function handlePage(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = (await readJson(req)) as { status?: string; alerts?: Array<{ status: string; summary: string }> } | undefined;
    for (const alert of body?.alerts ?? []) options.onPage?.(`📟 on-call ${alert.status === 'firing' ? 'PAGED' : 'all clear'}: ${alert.summary}`);
    json(res, 200, { ok: true });
  }

  function setFaults(patch: FaultPatch): void {
    faults = { ...faults, ...patch, latencyMs: { ...faults.latencyMs, ...(patch.latencyMs ?? {}) } };
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(req, socket, head).catch(() => socket.destroy());
  });

  async function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname !== '/ws/alerts') return reject(socket, 404, 'Not Found');
    const token = url.searchParams.get('token') ?? bearer(req.headers.authorization);
    try {
      if (!token) throw new Error('no token');
      await jwtVerify(token, secret, { algorithms: ['HS256'] });
    } catch {
      return reject(socket, 401, 'Unauthorized');
    }
    if (faults.closeSockets) return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => ws.terminate());
      ws.on('message', (data) => {
        const message = parseJson(data.toString());
        const type = message && typeof message === 'object' ? (message as { type?: unknown }).type : undefined;
        if (type === 'ping') later(faults.latencyMs.ws, () => ws.send(JSON.stringify({ ...(message as object), type: 'pong' })));
        if (type === 'echo' && !dropped()) later(faults.latencyMs.ws, () => ws.send(JSON.stringify(message)));
      });
    });
  }

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  const intervals = [
    setInterval(refreshDashboard, options.dashboardRefreshMs ?? 250),
    setInterval(() => {
      if (!faults.stallStream) streams.forEach((res) => res.write(': heartbeat\n\n'));
    }, options.heartbeatMs ?? 15_000),
  ];
  if ((options.tickMs ?? 1000) > 0) intervals.push(setInterval(() => ingest({ type: 'metric', value: Math.round(random() * 1000) }), options.tickMs ?? 1000));

  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/ws/alerts`,
    get faults() {
      return faults;
    },
    setFaults,
    ingest,
    hopTimes: (marker) => hops.get(marker),
    async close() {
      intervals.forEach(clearInterval);
      for (const res of [...streams, ...pages]) res.destroy();
      for (const ws of sockets) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function writeEvent(res: http.ServerResponse, event: DemoEvent): void {
  res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

/** The dashboard page: no framework, no inline script (its own CSP allows only itself). */
const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>demo dashboard</title>
<meta http-equiv="content-security-policy" content="default-src 'self'; img-src 'self' data:">
<link rel="icon" href="data:,">
</head><body>
<h1>Live events</h1>
<p id="status" data-state="connecting">connecting…</p>
<p><label><input type="checkbox" id="live" checked> live</label> <label>filter <input id="filter" placeholder="marker"></label></p>
<ul id="events"></ul>
<script src="/dashboard.js"></script>
</body></html>
`;

const DASHBOARD_JS = `'use strict';
const list = document.getElementById('events');
const live = document.getElementById('live');
const filter = document.getElementById('filter');
const status = document.getElementById('status');
const stream = new EventSource('/ui/stream');
stream.onopen = () => { status.dataset.state = 'live'; status.textContent = 'live'; };
stream.onerror = () => { status.dataset.state = 'reconnecting'; status.textContent = 'reconnecting…'; };
stream.onmessage = (message) => {
  const event = JSON.parse(message.data);
  if (!live.checked || (filter.value && !String(event.marker || '').includes(filter.value))) return;
  const item = document.createElement('li');
  item.setAttribute('data-marker', event.marker || '');
  item.append(document.createTextNode((event.marker || event.type) + ' '));
  const value = document.createElement('span');
  value.setAttribute('data-value', '');
  value.textContent = String(event.value);
  item.append(value);
  list.prepend(item);
  while (list.children.length > 50) list.lastElementChild.remove();
};
stream.addEventListener('ui-error', (message) => console.error('dashboard: ' + message.data));
`;

function text(res: http.ServerResponse, type: string, body: string): void {
  res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) return undefined;
    chunks.push(chunk);
  }
  return parseJson(Buffer.concat(chunks).toString('utf8'));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

function authorized(header: string | undefined, token: string): boolean {
  const given = Buffer.from(bearer(header) ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
