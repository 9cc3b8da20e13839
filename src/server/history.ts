// The history store, read: /api/v1/probes/NAME/history, /api/v1/incidents, and the badges a
// README shows (/badges/NAME/status.svg, /badges/NAME/uptime.svg?window=30d, and the same as
// shields.io endpoint JSON at /badges/NAME/shields.json). Every query is parsed here and bounded.
import type { Health } from '../detect/probe-state.js';
import { formatDuration } from '../config/units.js';
import { DAY_MS, type HistoryStore } from '../store/store.js';
import { formatUptime, UPTIME_WINDOWS, uptimeOver, type UptimeWindow } from '../store/views.js';

export interface HistoryDeps {
  store(): HistoryStore | undefined;
  /** The probe's health now; undefined when this daemon has no such probe. */
  state(name: string): Health | undefined;
  now(): number;
  redact(): (text: string) => string;
  location(): string;
  /** Where relative links in the feed resolve: externalUrl, or this daemon's own address. */
  baseUrl(): string;
}

const MAX_ROWS = 5_000;
const MAX_INCIDENTS = 500;
const STEPS = { run: 0, hour: 3_600_000, day: DAY_MS } as const;

type Reply = { status: number; type: string; body: string; headers?: Record<string, string> };

/** The reply for a history or badge path, or undefined when the path is not one of them. A
 * probe another daemon of the fleet runs (in the store's directory) has its history and badges
 * here too. */
export function historyRoute(deps: HistoryDeps, url: URL): Promise<Reply> | undefined {
  const probeHistory = /^\/api\/v1\/probes\/([^/]+)\/history$/.exec(url.pathname);
  const badge = /^\/badges\/([^/]+)\/(status\.svg|uptime\.svg|shields\.json)$/.exec(url.pathname);
  if (!probeHistory && !badge && url.pathname !== '/api/v1/incidents' && url.pathname !== '/incidents.atom') return undefined;
  return (async () => {
    const store = deps.store();
    if (!store) return json(503, { error: 'no history is kept: history.store is none, or the history database could not be opened (see the log)' });
    const now = deps.now();
    try {
      if (url.pathname === '/api/v1/incidents') return await incidents(store, url, now, deps.redact());
      if (url.pathname === '/incidents.atom') return await feed(store, url, now, deps);
      const name = decode((probeHistory ?? badge)?.[1] ?? '');
      const local = name === undefined ? undefined : deps.state(name);
      const remote = name === undefined || local !== undefined ? undefined : (await store.fleet()).find((p) => p.probe === name);
      if (name === undefined || (local === undefined && remote === undefined)) return json(404, { error: `no probe named "${(name ?? '').slice(0, 200)}"` });
      if (probeHistory) return await history(store, name, url, now, deps.redact());
      const health: Health = local ?? (remote?.verdict === 'ok' ? 'healthy' : remote?.verdict === 'degraded' ? 'degraded' : 'failing');
      return await badgeFor(store, name, (badge as RegExpExecArray)[2] as string, url, now, health);
    } catch (error) {
      return json(503, { error: `the history store cannot be read: ${(error as Error).message}` });
    }
  })();
}

async function history(store: HistoryStore, probe: string, url: URL, now: number, redact: (t: string) => string): Promise<Reply> {
  const step = url.searchParams.get('step') ?? 'hour';
  if (!(step in STEPS)) return json(400, { error: `step: expected run, hour or day, not "${step.slice(0, 20)}"` });
  const to = time(url.searchParams.get('to'), now);
  if (typeof to === 'string') return json(400, { error: `to: ${to}` });
  const from = time(url.searchParams.get('from'), to - (step === 'day' ? 90 * DAY_MS : step === 'hour' ? DAY_MS : 3_600_000));
  if (typeof from === 'string') return json(400, { error: `from: ${from}` });
  if (from >= to) return json(400, { error: 'from: expected a time before to' });
  if (step === 'run') {
    const runs = await store.runs(probe, from, to, MAX_ROWS + 1);
    return json(200, { probe, step, from: iso(from), to: iso(to), truncated: runs.length > MAX_ROWS, runs: runs.slice(0, MAX_ROWS).map((r) => ({ at: iso(r.at), location: r.location, verdict: r.verdict, ms: r.figure, headline: r.headline && redact(r.headline), phases: r.phases })) });
  }
  const rows = await store.aggregates(probe, step as 'hour' | 'day', from - (from % STEPS[step as 'hour']), to, MAX_ROWS + 1);
  return json(200, {
    probe,
    step,
    from: iso(from),
    to: iso(to),
    truncated: rows.length > MAX_ROWS,
    buckets: rows.slice(0, MAX_ROWS).map((a) => ({ start: iso(a.start), location: a.location, runs: a.runs, ok: a.ok, degraded: a.degraded, failed: a.failed, downSeconds: Math.round(a.downMs / 1000), uptime: a.runs ? (a.runs - a.failed) / a.runs : null, p50Ms: a.p50 ?? null, p95Ms: a.p95 ?? null, p99Ms: a.p99 ?? null })),
  });
}

async function incidents(store: HistoryStore, url: URL, now: number, redact: (t: string) => string): Promise<Reply> {
  const state = url.searchParams.get('state') ?? undefined;
  if (state !== undefined && state !== 'open' && state !== 'closed') return json(400, { error: `state: expected open or closed, not "${state.slice(0, 20)}"` });
  const from = time(url.searchParams.get('from'), 0);
  const to = time(url.searchParams.get('to'), now + 1);
  if (typeof from === 'string' || typeof to === 'string') return json(400, { error: typeof from === 'string' ? `from: ${from}` : `to: ${to as string}` });
  const limit = Number(url.searchParams.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_INCIDENTS) return json(400, { error: `limit: expected a whole number from 1 to ${MAX_INCIDENTS}` });
  const probe = url.searchParams.get('probe') ?? undefined;
  const list = await store.incidentList({ probe, state, from, to, limit });
  return json(200, {
    incidents: list.map((i) => ({
      probe: i.probe,
      location: i.location,
      state: i.endedAt === undefined ? 'open' : 'closed',
      startedAt: iso(i.startedAt),
      endedAt: i.endedAt === undefined ? null : iso(i.endedAt),
      failingSeconds: i.durationMs === undefined ? null : Math.round(i.durationMs / 1000),
      cause: redact(i.cause),
      timeline: i.timeline.map((e) => ({ at: iso(e.at), text: redact(e.text) })),
    })),
  });
}

/** An Atom feed (RFC 4287) of the newest 50 incidents (?probe= for one probe's): an entry per
 * incident, updated when it closes, for people who subscribe rather than get paged. */
async function feed(store: HistoryStore, url: URL, now: number, deps: HistoryDeps): Promise<Reply> {
  const probe = url.searchParams.get('probe') ?? undefined;
  const redact = deps.redact();
  const list = await store.incidentList({ probe, limit: 50 });
  const location = deps.location();
  const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const tag = (path: string) => `tag:flowprobe,2026:${encodeURIComponent(location)}/${path}`;
  const updatedOf = (i: (typeof list)[number]) => i.endedAt ?? i.timeline.at(-1)?.at ?? i.startedAt;
  const entries = list.map((i) => {
    const title = i.endedAt === undefined ? `${i.probe} failing: ${redact(i.cause)}` : `${i.probe} recovered after ${formatDuration(i.durationMs ?? i.endedAt - i.startedAt)} failing: ${redact(i.cause)}`;
    const lines = i.timeline.map((e) => `${iso(e.at)} ${redact(e.text)}`).join('\n');
    return [
      '<entry>',
      `<id>${esc(tag(`incidents/${encodeURIComponent(i.probe)}/${Math.round(i.startedAt)}`))}</id>`,
      `<title>${esc(title)}</title>`,
      `<published>${iso(i.startedAt)}</published>`,
      `<updated>${iso(updatedOf(i))}</updated>`,
      `<link rel="alternate" type="text/html" href="${esc(`/probes/${encodeURIComponent(i.probe)}`)}"/>`,
      `<category term="${esc(i.endedAt === undefined ? 'open' : 'closed')}"/>`,
      `<content type="text">${esc(`${i.probe} at ${i.location}: ${redact(i.cause)}\n${lines}`)}</content>`,
      '</entry>',
    ].join('');
  });
  const updated = Math.max(0, ...list.map(updatedOf));
  const body = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="${esc(deps.baseUrl())}">`,
    `<id>${esc(tag(`incidents${probe ? `/${encodeURIComponent(probe)}` : ''}`))}</id>`,
    `<title>${esc(`flowprobe incidents at ${location}${probe ? `: ${probe}` : ''}`)}</title>`,
    `<updated>${iso(updated || now)}</updated>`,
    `<author><name>${esc(`flowprobe at ${location}`)}</name></author>`,
    `<link rel="self" type="application/atom+xml" href="${esc(`/incidents.atom${probe ? `?probe=${encodeURIComponent(probe)}` : ''}`)}"/>`,
    `<link rel="alternate" type="text/html" href="/incidents"/>`,
    ...entries,
    '</feed>',
    '',
  ].join('\n');
  return { status: 200, type: 'application/atom+xml; charset=utf-8', body, headers: { 'cache-control': 'max-age=60' } };
}

const COLOURS = { ok: '#2e7d32', degraded: '#b26a00', failed: '#c62828', none: '#6b6b6b' } as const;

async function badgeFor(store: HistoryStore, probe: string, which: string, url: URL, now: number, health: Health): Promise<Reply> {
  const window = (url.searchParams.get('window') ?? '30d') as UptimeWindow;
  if (!(window in UPTIME_WINDOWS)) return json(400, { error: `window: expected one of ${Object.keys(UPTIME_WINDOWS).join(', ')}` });
  const byHealth = { healthy: ['up', COLOURS.ok], degraded: ['degraded', COLOURS.degraded], failing: ['down', COLOURS.failed], pending: ['pending', COLOURS.none] } as const;
  let [label, message, colour]: [string, string, string] = ['status', ...byHealth[health]];
  if (which !== 'status.svg') {
    const uptime = await uptimeOver(store, probe, now, window);
    [label, message, colour] = [`uptime ${window}`, formatUptime(uptime), uptime === undefined ? COLOURS.none : uptime >= 0.999 ? COLOURS.ok : uptime >= 0.99 ? COLOURS.degraded : COLOURS.failed];
  }
  if (which === 'shields.json') return json(200, { schemaVersion: 1, label: `${probe} ${label}`, message, color: colour.slice(1) }, { 'cache-control': 'max-age=60' });
  return { status: 200, type: 'image/svg+xml', body: svgBadge(`${probe} ${label}`, message, colour), headers: { 'cache-control': 'max-age=60' } };
}

/** A flat two-part badge; text escaped, widths estimated at 6.5 px a character (Verdana 11). */
export function svgBadge(label: string, message: string, colour: string): string {
  const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const [lw, mw] = [label, message].map((t) => Math.round(t.length * 6.5) + 10) as [number, number];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${lw + mw}" height="20" role="img" aria-label="${esc(label)}: ${esc(message)}"><title>${esc(label)}: ${esc(message)}</title><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${colour}"/><g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="${lw / 2}" y="14">${esc(label)}</text><text x="${lw + mw / 2}" y="14">${esc(message)}</text></g></svg>`;
}

/** A time as epoch milliseconds or ISO 8601; the fallback when absent; a message when neither. */
function time(text: string | null, fallback: number): number | string {
  if (text === null || text === '') return fallback;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(ms) ? ms : `expected epoch milliseconds or an ISO 8601 time, not "${text.slice(0, 40)}"`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, type: 'application/json', body: `${JSON.stringify(body)}\n`, headers };
}

