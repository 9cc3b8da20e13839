// The status page's routes: / (overview, with ?state= ?kind= ?label=), /probes/NAME,
// /alerts, /events (live updates) and /assets/*. Read-only; every document it renders comes
// from the daemon already free of secrets.
import type http from 'node:http';
import type { Health } from '../detect/probe-state.js';
import { send } from '../server/server.js';
import type { AlertsDocument, ProbeDocument, StatusSummary, StoreDocuments } from '../server/status.js';
import { ASSETS } from './assets.js';
import { LiveHub, type Patch, type Topic } from './live.js';
import { alertsPage, countsHtml, fleetProbePage, incidentsPage, notFoundPage, overviewPage, probeLiveHtml, probePage, rowHtml, type DaysOf, type Filter } from './pages.js';
import type { IncidentFilter } from './history.js';
import type { Screenshot } from '../probers/types.js';

export interface SiteSource {
  summary(): StatusSummary;
  probe(name: string): ProbeDocument | undefined;
  /** The history store's views (every answer undefined when none is kept). */
  store: StoreDocuments;
  alerts(): AlertsDocument;
  location(): string;
  now(): number;
  /** The probe's newest failed or degraded browser leg, as the page looked. */
  screenshot(name: string): Screenshot | undefined;
}

/** No inline script or style runs: even text that escaped escaping could not execute. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const STATES: readonly Health[] = ['failing', 'degraded', 'healthy', 'pending'];
const MAX_FILTER_CHARS = 200;
const INCIDENTS_SHOWN = 200;

export class StatusSite {
  readonly live: LiveHub;

  constructor(private readonly source: SiteSource) {
    this.live = new LiveHub({ overview: (probes) => this.overviewPatches(probes), probe: (name) => this.probePatch(name) });
  }

  /** Serves the request if it is one of the site's; false when it is not. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean> {
    const { pathname } = url;
    const { store } = this.source;
    if (pathname === '/') {
      await store.refresh();
      const fleet = await store.fleet().catch(() => undefined);
      const summary = this.source.summary();
      const here = new Set(summary.probes.map((p) => p.name));
      // The fleet's other probes: other shards', and this one's at other locations.
      const elsewhere = fleet?.filter((f) => !(f.location === summary.location && here.has(f.probe)));
      return (this.html(res, 200, overviewPage(summary, filterOf(url), this.live.eventId, { days: this.days, health: store.health(), elsewhere })), true);
    }
    if (pathname === '/incidents') {
      const state = url.searchParams.get('state');
      const filter: IncidentFilter = { probe: url.searchParams.get('probe')?.slice(0, MAX_FILTER_CHARS) || undefined, state: state === 'open' || state === 'closed' ? state : undefined };
      const incidents = await store.incidents({ ...filter, limit: INCIDENTS_SHOWN }).catch((error: unknown) => unreadable(error));
      return (this.html(res, 200, incidentsPage(incidents, filter, this.source.location(), INCIDENTS_SHOWN, store.health())), true);
    }
    if (pathname === '/alerts') return (this.html(res, 200, alertsPage(this.source.alerts(), this.source.location(), this.source.now())), true);
    const shot = /^\/probes\/([^/]+)\/screenshot\.jpg$/.exec(pathname);
    if (shot) {
      const found = this.source.screenshot(safeDecode(shot[1] as string) ?? '');
      if (!found) return (send(res, 404, 'text/plain', 'no screenshot: one is kept when a browser leg fails or is degraded\n'), true);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': found.jpeg.length, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-flowprobe-leg': found.leg, 'x-flowprobe-run': found.runId });
      res.end(found.jpeg);
      return true;
    }
    if (pathname.startsWith('/probes/')) {
      const name = safeDecode(pathname.slice('/probes/'.length));
      const doc = name === undefined ? undefined : this.source.probe(name);
      if (doc) {
        const history = await store.history(doc.name, this.source.location()).catch((error: unknown) => unreadable(error));
        const screenshot = this.source.screenshot(doc.name);
        return (this.html(res, 200, probePage(doc, this.source.location(), this.live.eventId, history, this.source.now(), store.health(), screenshot && { leg: screenshot.leg, at: screenshot.at, runId: screenshot.runId })), true);
      }
      // A probe another daemon of the fleet runs: its history from the store.
      const location = url.searchParams.get('location');
      const fleet = name === undefined ? undefined : await store.fleet().catch(() => undefined);
      const remote = fleet?.find((f) => f.probe === name && (location === null || f.location === location));
      if (!remote) return (this.html(res, 404, notFoundPage(name ?? pathname)), true);
      const history = await store.history(remote.probe, remote.location).catch((error: unknown) => unreadable(error));
      return (this.html(res, 200, fleetProbePage(remote, history, this.source.now(), store.health())), true);
    }
    if (pathname === '/events') {
      const topic = topicOf(url);
      if (!topic) return (send(res, 400, 'text/plain', 'expected ?page=overview or ?page=probe&probe=NAME\n'), true);
      this.live.attach(req, res, topic, eventIdOf(header(req.headers['last-event-id']) ?? url.searchParams.get('since') ?? undefined));
      return true;
    }
    for (const asset of Object.values(ASSETS)) {
      if (pathname === asset.path) return (send(res, 200, asset.type, asset.body, { 'cache-control': 'public, max-age=31536000, immutable' }), true);
    }
    return false;
  }

  close(): void {
    this.live.close();
  }

  private overviewPatches(probes: readonly string[] | undefined): Patch[] {
    const summary = this.source.summary();
    const rows = summary.probes
      .filter((p) => probes === undefined || probes.includes(p.name))
      .map((p): Patch => ({ target: `row-${p.name}`, html: rowHtml(p, summary.location, this.days), into: 'rows', match: { state: p.state, kind: p.kind, labels: Object.entries(p.labels).map(([k, v]) => `${k}=${v}`) } }));
    return [...rows, { target: 'counts', html: countsHtml(summary) }];
  }

  private probePatch(name: string): Patch | undefined {
    const doc = this.source.probe(name);
    return doc && { target: 'probe-live', html: probeLiveHtml(doc) };
  }

  private readonly days: DaysOf = (name, location) => this.source.store.days(name, location);

  private html(res: http.ServerResponse, status: number, body: string): void {
    send(res, status, 'text/html; charset=utf-8', body, { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  }
}

function unreadable(error: unknown): { unreadable: string } {
  return { unreadable: (error as Error).message ?? String(error) };
}

function filterOf(url: URL): Filter {
  const param = (name: string) => {
    const value = url.searchParams.get(name)?.slice(0, MAX_FILTER_CHARS);
    return value ? value : undefined;
  };
  const state = param('state');
  return { state: STATES.find((s) => s === state), kind: param('kind'), label: param('label') };
}

function topicOf(url: URL): Topic | undefined {
  const page = url.searchParams.get('page');
  if (page === 'overview') return { page };
  const probe = url.searchParams.get('probe');
  return page === 'probe' && probe ? { page, probe } : undefined;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function eventIdOf(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
