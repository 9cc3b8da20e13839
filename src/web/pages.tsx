// The status page, server-rendered: an overview of every probe, one page per probe, and the
// alerts and silences. Preact renders text and attributes escaped, so a target's observed
// text (a body with "<script>" in it) shows as text. The pages work without JavaScript;
// /assets/live.js then keeps them current from the daemon's own SSE stream.
import type { ComponentChildren } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { formatDuration } from '../config/units.js';
import type { Health } from '../detect/probe-state.js';
import { rankOf, type AlertsDocument, type LastVerdict, type ProbeDocument, type ProbeSummary, type RunSummary, type StatusSummary } from '../server/status.js';
import type { CheckResult } from '../probers/types.js';
import { kindOf, type KindBars } from '../probers/kinds.js';
import type { TimelineEntry } from '../results/history.js';
import { ASSETS } from './assets.js';
import { Ago, When, Until } from './time.js';
import { DayStrip, HistoryBody, HistoryHead, IncidentTable, StoreNote, type IncidentFilter } from './history.js';
import { formatUptime, type DayBar, type ProbeHistory } from '../store/views.js';
import type { FleetProbe, IncidentRecord, StoreHealth } from '../store/store.js';

/** The overview's filter, from its query string: each absent means "any". */
export interface Filter {
  state: Health | undefined;
  kind: string | undefined;
  /** "key=value", or "key" for any value of it. */
  label: string | undefined;
}

function matches(p: ProbeSummary, filter: Filter): boolean {
  if (filter.state && p.state !== filter.state) return false;
  if (filter.kind && p.kind !== filter.kind) return false;
  if (filter.label) {
    // "team=payments" is that value; "team" alone, any value of it.
    const at = filter.label.indexOf('=');
    const value = p.labels[at < 0 ? filter.label : filter.label.slice(0, at)];
    if (value === undefined || (at >= 0 && value !== filter.label.slice(at + 1))) return false;
  }
  return true;
}

const page = (node: preact.VNode) => `<!doctype html>${renderToString(node)}`;

/** A probe's 90 daily bars at a location and its 30-day uptime, when a history store is kept. */
export type DaysOf = (name: string, location: string) => { bars: DayBar[]; uptime30d: number | undefined } | undefined;

/** What the overview shows of the history store. */
export interface OverviewHistory {
  days: DaysOf;
  health: StoreHealth | undefined;
  /** The fleet's probes this daemon does not run here (other shards, other locations). */
  elsewhere: FleetProbe[] | undefined;
}

/** A read of the store that failed: the page says why instead of showing history. */
export type Unreadable = { unreadable: string };

export function overviewPage(summary: StatusSummary, filter: Filter, since: number, history: OverviewHistory): string {
  const { days } = history;
  const shown = summary.probes.filter((p) => matches(p, filter));
  const kinds = [...new Set(summary.probes.map((p) => p.kind))].sort();
  return page(
    <Layout title={`flowprobe · ${summary.location}`} live="/events?page=overview" since={since}>
      <h1>
        Probes <small>at {summary.location}</small>
      </h1>
      <Counts summary={summary} />
      {summary.warnings.map((w) => (
        <p class="warning">⚠ {w}</p>
      ))}
      <StoreNote health={history.health} />
      <form class="filter" method="get" action="/">
        <label>
          state{' '}
          <select name="state">
            {['', 'failing', 'degraded', 'healthy', 'pending'].map((s) => (
              <option value={s} selected={(filter.state ?? '') === s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          kind{' '}
          <select name="kind">
            {['', ...kinds].map((k) => (
              <option value={k} selected={(filter.kind ?? '') === k}>
                {k || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          label <input name="label" value={filter.label ?? ''} placeholder="team=payments" size={16} />
        </label>
        <button type="submit">Filter</button>
        {shown.length < summary.probes.length && (
          <span>
            {' '}
            showing {shown.length} of {summary.probes.length} · <a href="/">all</a>
          </span>
        )}
      </form>
      <table class="probes">
        <thead>
          <tr>
            <th>state</th>
            <th>probe</th>
            <th>kind</th>
            <th>location</th>
            <th>last run</th>
            <th>main figure (recent)</th>
            <th>90 days (UTC)</th>
            <th>outage</th>
            <th>what happened</th>
          </tr>
        </thead>
        <tbody id="rows">
          {shown.map((p) => (
            <Row p={p} location={summary.location} days={days(p.name, summary.location)} />
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p class="empty">No probe matches this filter.</p>}
      {history.elsewhere && history.elsewhere.length > 0 && <Elsewhere probes={history.elsewhere} days={days} />}
    </Layout>,
  );
}

export function Counts({ summary }: { summary: StatusSummary }) {
  const { counts } = summary;
  return (
    <p id="counts" class="counts">
      <span class={counts.failing ? 'state-failing' : ''}>{counts.failing} failing</span> · <span class={counts.degraded ? 'state-degraded' : ''}>{counts.degraded} degraded</span> · {counts.healthy} healthy{counts.pending ? ` · ${counts.pending} pending` : ''} · of {counts.probes} probe(s) · daemon {summary.version}, up since <Ago at={Date.parse(summary.startedAt)} />
    </p>
  );
}

export function countsHtml(summary: StatusSummary): string {
  return renderToString(<Counts summary={summary} />);
}

export function rowHtml(p: ProbeSummary, location: string, days: DaysOf): string {
  return renderToString(<Row p={p} location={location} days={days(p.name, location)} />);
}

/** The fleet's probes other daemons run, from the shared store: where, which shard, the newest
 * run it wrote, and the same bars. Their live state is on their own daemon's page. */
function Elsewhere({ probes, days }: { probes: FleetProbe[]; days: DaysOf }) {
  return (
    <>
      <h2 id="fleet">Elsewhere in the fleet</h2>
      <p class="note">Probes other flowprobe daemons run and write to the same history store: their newest run as written there (at most about 10 s old).</p>
      <table class="probes fleet">
        <thead>
          <tr>
            <th>last run</th>
            <th>probe</th>
            <th>kind</th>
            <th>location</th>
            <th>shard</th>
            <th>when</th>
            <th>main figure</th>
            <th>90 days (UTC)</th>
            <th>what happened</th>
          </tr>
        </thead>
        <tbody>
          {probes.map((f) => {
            const d = days(f.probe, f.location);
            return (
              <tr id={`fleet-${f.location}-${f.probe}`} class={`verdict-${f.verdict}`} data-name={f.probe} data-location={f.location} data-shard={f.shard}>
                <td class="state">
                  <VerdictIcon verdict={f.verdict} /> {f.verdict}
                </td>
                <td>
                  <a href={`${probeHref(f.probe)}?location=${encodeURIComponent(f.location)}`}>{f.probe}</a>
                </td>
                <td>{f.kind ?? ''}</td>
                <td>{f.location}</td>
                <td>{f.shard}</td>
                <td class="nowrap">
                  <Ago at={f.lastAt} />
                </td>
                <td class="figure">{f.figure === undefined ? '–' : formatDuration(f.figure)}</td>
                <td class="history">
                  {d && (
                    <>
                      <DayStrip bars={d.bars} each={false} /> <span class="uptime">30 d {formatUptime(d.uptime30d)}</span>
                    </>
                  )}
                </td>
                <td class="headline" data-verdict={f.verdict}>
                  {f.headline ?? ''}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

/** The page of a probe another daemon of the fleet runs: its history, from the shared store. */
export function fleetProbePage(probe: FleetProbe, history: ProbeHistory | Unreadable | undefined, now: number, health: StoreHealth | undefined): string {
  return page(
    <Layout title={`${probe.probe} at ${probe.location} · flowprobe`}>
      <p class="crumbs">
        <a href="/#fleet">← all probes</a>
      </p>
      <h1>
        {probe.probe} <small>{probe.kind ?? ''} at {probe.location}, shard {probe.shard}</small>
      </h1>
      <p class="meta">Run by another flowprobe daemon of the fleet: its history is read from the shared store; its live state, recent runs and alerts are on that daemon's own page.</p>
      <StoreNote health={health} />
      <p class={`now verdict-${probe.verdict}`}>
        <VerdictIcon verdict={probe.verdict} /> newest run <strong>{probe.verdict}</strong> <Ago at={probe.lastAt} />
        {probe.figure !== undefined && <> in {formatDuration(probe.figure)}</>}
        {probe.headline && <>: {probe.headline}</>}
      </p>
      <HistoryOf history={history} probe={probe.probe} label="main figure" now={now} />
    </Layout>,
  );
}

/** A probe's history on its page: the head and body, or why it cannot be shown. */
function HistoryOf({ history, probe, label, now, part = 'all' }: { history: ProbeHistory | Unreadable | undefined; probe: string; label: string; now: number; part?: 'head' | 'body' | 'all' }) {
  if (history === undefined) return part === 'body' ? null : <p class="note">No history is kept (history.store: none, or its database could not be opened).</p>;
  if ('unreadable' in history) return part === 'body' ? null : <p class="warning">⚠ The history store cannot be read now ({history.unreadable}): uptime, charts and incidents come back when it can.</p>;
  return (
    <>
      {part !== 'body' && <HistoryHead history={history} />}
      {part !== 'head' && <HistoryBody probe={probe} history={history} label={label} now={now} />}
    </>
  );
}

function Row({ p, location, days }: { p: ProbeSummary; location: string; days: ReturnType<DaysOf> }) {
  return (
    <tr id={`row-${p.name}`} class={`state-${p.state}`} data-rank={rankOf(p)} data-name={p.name} data-state={p.state} data-kind={p.kind} data-labels={Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join('\n')}>
      <td class="state">
        <StateBadge state={p.state} /> <VerdictIcon verdict={p.verdict} />
      </td>
      <td>
        <a href={probeHref(p.name)}>{p.name}</a>
      </td>
      <td>{p.kind}</td>
      <td>{location}</td>
      <td class="nowrap">{p.lastAt === undefined ? 'not yet' : <Ago at={p.lastAt} />}</td>
      <td class="figure">
        {p.main.label} {p.main.ms === undefined ? '–' : formatDuration(p.main.ms)} <Sparkline values={p.main.recent} />
      </td>
      <td class="history">
        {days ? (
          <>
            <DayStrip bars={days.bars} each={false} /> <span class="uptime">30 d {formatUptime(days.uptime30d)}</span>
          </>
        ) : (
          <span class="note">not kept</span>
        )}
      </td>
      <td>
        <IncidentNote p={p} short />
      </td>
      <td class="headline" data-verdict={p.verdict}>
        {p.headline ?? ''}
      </td>
    </tr>
  );
}

export function probePage(doc: ProbeDocument, location: string, since: number, history: ProbeHistory | Unreadable | undefined, now: number, health: StoreHealth | undefined, screenshot?: { leg: string; at: number; runId: string }): string {
  return page(
    <Layout title={`${doc.name} · flowprobe`} live={`/events?page=probe&probe=${encodeURIComponent(doc.name)}`} since={since}>
      <p class="crumbs">
        <a href="/">← all probes</a>
      </p>
      <h1>
        {doc.name} <small>{doc.kind} at {location}</small>
      </h1>
      <p class="meta">
        {doc.target} · {doc.schedule}, timeout {doc.timeout} · from <code>{doc.source}</code>
        {Object.entries(doc.labels).map(([k, v]) => (
          <span class="label">
            {k}={v}
          </span>
        ))}
      </p>
      <StoreNote health={health} />
      <HistoryOf history={history} probe={doc.name} label={doc.main.label} now={now} part="head" />
      <ProbeLive doc={doc} />
      {screenshot && (
        <section id="screenshot">
          <h2>The page when a browser leg last failed or was degraded</h2>
          <p class="meta">
            leg {screenshot.leg}, <Ago at={screenshot.at} /> (run {screenshot.runId})
          </p>
          <a href={`${probeHref(doc.name)}/screenshot.jpg`}>
            <img class="screenshot" src={`${probeHref(doc.name)}/screenshot.jpg?run=${encodeURIComponent(screenshot.runId)}`} alt={`the page of leg ${screenshot.leg} as the browser saw it when the leg failed or was degraded`} width={640} height={400} />
          </a>
        </section>
      )}
      <HistoryOf history={history} probe={doc.name} label={doc.main.label} now={now} part="body" />
    </Layout>,
  );
}

export function probeLiveHtml(doc: ProbeDocument): string {
  return renderToString(<ProbeLive doc={doc} />);
}

/** Everything on a probe's page that changes with a run: replaced whole when it does. */
function ProbeLive({ doc }: { doc: ProbeDocument }) {
  const last = doc.last;
  return (
    <div id="probe-live">
      <p class={`now state-${doc.state}`}>
        <StateBadge state={doc.state} /> {doc.outage || doc.state === 'pending' ? <IncidentNote p={doc} /> : doc.baselineMs !== undefined ? `baseline ${formatDuration(doc.baselineMs)}` : ''}
      </p>
      <h2>Last run</h2>
      {last ? <Run run={last} /> : <p>No run yet.</p>}
      <h2>Incident timeline</h2>
      {doc.timeline.length === 0 ? <p>Nothing has happened to this probe since the daemon started.</p> : <Timeline entries={doc.timeline} />}
      <h2>Recent runs</h2>
      <Runs runs={doc.recent} label={doc.main.label} />
      <h2>Recent failures</h2>
      {doc.failures.length === 0 ? <p>None kept.</p> : <Runs runs={doc.failures} label={doc.main.label} />}
    </div>
  );
}

function Run({ run }: { run: RunSummary }) {
  // Bars of the kind's own (a flow's legs), from its entry in the kinds table.
  const kindBars = (kindOf(run.detail.kind).bars as ((d: typeof run.detail) => KindBars | undefined) | undefined)?.(run.detail);
  return (
    <section class={`run verdict-${run.verdict}`}>
      <p class="headline">
        <VerdictIcon verdict={run.verdict} /> <strong>{run.verdict}</strong> <Ago at={run.at} /> in {formatDuration(run.durationMs)}
        {run.headline && <>: {run.headline}</>}
      </p>
      {run.checks.length > 0 && <Checks checks={run.checks} />}
      {Object.keys(run.phases).length > 0 && (
        <>
          <h3>Phases</h3>
          <Waterfall bars={sequential(run.phases)} />
        </>
      )}
      {kindBars && (
        <>
          <h3>{kindBars.title}</h3>
          <Waterfall bars={kindBars.bars} />
        </>
      )}
      {run.figures.length > 0 && (
        <>
          <h3>Figures</h3>
          <ul class="figures">
            {run.figures.map((line) => (
              <li>{line.trim()}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function Checks({ checks }: { checks: CheckResult[] }) {
  return (
    <table class="checks">
      <thead>
        <tr>
          <th />
          <th>check</th>
          <th>expected</th>
          <th>observed</th>
        </tr>
      </thead>
      <tbody>
        {checks.map((c) => (
          <tr class={c.ok ? (c.degraded ? 'check-degraded' : 'check-ok') : 'check-failed'}>
            <td>{c.ok ? (c.degraded ? '⚠' : '✔') : '✘'}</td>
            <td>{c.name}</td>
            <td>{c.expected}</td>
            <td>{c.observed}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface Bar {
  name: string;
  start: number;
  ms: number;
  /** Never finished: `ms` is how long it was waited for. */
  unfinished?: boolean;
}

/** Phases happen one after another: each bar starts where the one before ended. */
function sequential(phases: Record<string, number>): Bar[] {
  let at = 0;
  return Object.entries(phases).map(([name, ms]) => {
    const bar = { name, start: at, ms };
    at += ms;
    return bar;
  });
}

function Waterfall({ bars }: { bars: Bar[] }) {
  const end = Math.max(...bars.map((b) => b.start + b.ms), 0.001);
  const width = 420;
  const x = (ms: number) => 120 + (ms / end) * width;
  return (
    <svg class="waterfall" viewBox={`0 0 ${120 + width + 130} ${bars.length * 20}`} width={120 + width + 130} height={bars.length * 20} role="img">
      {bars.map((b, i) => (
        <g>
          <text x={0} y={i * 20 + 14}>
            {b.name}
          </text>
          <rect x={x(b.start)} y={i * 20 + 3} width={Math.max(1, x(b.start + b.ms) - x(b.start))} height={14} class={b.unfinished ? 'unfinished' : undefined} />
          <text x={x(b.start + b.ms) + 4} y={i * 20 + 14} class={b.unfinished ? 'unfinished' : undefined}>
            {b.unfinished ? `not seen in ${formatDuration(b.ms)}` : formatDuration(b.ms)}
          </text>
        </g>
      ))}
    </svg>
  );
}

function Runs({ runs, label }: { runs: RunSummary[]; label: string }) {
  return (
    <table class="runs">
      <thead>
        <tr>
          <th />
          <th>when</th>
          <th>took</th>
          <th>{label}</th>
          <th>what happened</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr class={`verdict-${r.verdict}`}>
            <td>
              <VerdictIcon verdict={r.verdict} />
            </td>
            <td>
              <Ago at={r.at} />
            </td>
            <td>{formatDuration(r.durationMs)}</td>
            <td>{r.mainMs === undefined ? '–' : formatDuration(r.mainMs)}</td>
            <td class="headline">{r.headline ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Timeline({ entries }: { entries: TimelineEntry[] }) {
  return (
    <ol class="timeline">
      {entries.map((e) => (
        <li class={`timeline-${e.what}`}>
          <When at={e.at} /> {e.text}
        </li>
      ))}
    </ol>
  );
}

export function alertsPage(doc: AlertsDocument, location: string, now: number): string {
  const firing = doc.alerts.filter((a) => a.status === 'firing');
  const resolved = doc.alerts.filter((a) => a.status === 'resolved');
  return page(
    <Layout title={`alerts · flowprobe · ${location}`}>
      <h1>
        Alerts <small>at {location}</small>
      </h1>
      {doc.warning && <p class="warning">⚠ {doc.warning}</p>}
      <h2>Firing ({firing.length})</h2>
      {firing.length === 0 ? <p>No alert is firing.</p> : <Alerts alerts={firing} />}
      <h2>Resolved, still remembered ({resolved.length})</h2>
      {resolved.length === 0 ? <p>None.</p> : <Alerts alerts={resolved} />}
      <h2>Receivers ({doc.receivers.length})</h2>
      {doc.receivers.length > 0 && (
        <table class="receivers">
          <thead>
            <tr>
              <th>receiver</th>
              <th>kind</th>
              <th>queued</th>
              <th>last delivery</th>
            </tr>
          </thead>
          <tbody>
            {doc.receivers.map((r) => (
              <tr class={r.last && !r.last.ok ? 'state-failing' : ''}>
                <td>{r.name}</td>
                <td>{r.kind}</td>
                <td>{r.pending}</td>
                <td>{r.last ? <>{r.last.ok ? '✔ delivered' : `✘ ${r.last.reason}: ${r.last.message ?? ''}`} <Ago at={r.last.at} /></> : 'none since the daemon started'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Silences ({doc.silences.length})</h2>
      <p class="note">Read-only: silences are created and removed with the token-protected API (POST/DELETE /api/v1/silences).</p>
      {doc.silences.length > 0 && (
        <table class="silences">
          <thead>
            <tr>
              <th>matchers</th>
              <th>until</th>
              <th>comment</th>
              <th>by</th>
            </tr>
          </thead>
          <tbody>
            {doc.silences.map((s) => (
              <tr class={s.endsAt <= now ? 'expired' : ''}>
                <td>
                  <code>{JSON.stringify(s.matchers)}</code>
                </td>
                <td>
                  <When at={s.endsAt} />
                </td>
                <td>{s.comment}</td>
                <td>{s.createdBy}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>,
  );
}

function Alerts({ alerts }: { alerts: AlertsDocument['alerts'] }) {
  return (
    <table class="alerts">
      <thead>
        <tr>
          <th>alert</th>
          <th>subject</th>
          <th>severity</th>
          <th>since</th>
          <th>summary</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((a) => (
          <tr class={a.status === 'firing' ? 'state-failing' : ''}>
            <td>{a.labels.alertname}</td>
            <td>{a.labels.probe ? <a href={probeHref(a.labels.probe)}>{a.labels.probe}</a> : (a.labels.process ?? a.labels.receiver ?? '')}</td>
            <td>{a.labels.severity}</td>
            <td>
              <Ago at={a.startsAt} />
            </td>
            <td>{a.summary}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Layout({ title, live, since, children }: { title: string; live?: string; since?: number; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <link rel="icon" href={ASSETS.icon.path} type="image/svg+xml" />
        <link rel="stylesheet" href={ASSETS.style.path} />
        {live && <script src={ASSETS.live.path} defer />}
      </head>
      <body data-live={live} data-since={since}>
        <header>
          <a href="/" class="brand">
            flowprobe
          </a>{' '}
          <nav>
            <a href="/">probes</a> · <a href="/incidents">incidents</a> · <a href="/alerts">alerts</a> · <a href="/api/v1/status">status API</a> · <a href="/metrics">metrics</a>
          </nav>
          {live && (
            <span id="live-status" class="live">
              static page (live updates need JavaScript)
            </span>
          )}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}

/** Where the probe's incident stands: failing (flapping) for how long, recovering with k of n
 * good runs, or up again and settling; pending before its first run. */
function IncidentNote({ p, short = false }: { p: ProbeSummary; short?: boolean }) {
  const o = p.outage;
  if (p.state === 'pending') return <span class="incident">{short ? 'no run yet' : 'pending: no run yet'}</span>;
  if (!o) return null;
  const flapped = o.periods > 1 ? `, flapping: failing ${formatDuration(o.failingMs)} in ${o.periods} periods` : '';
  if (p.settlingUntil !== undefined) {
    return (
      <span class="incident settling">
        up again after failing {formatDuration(o.failingMs)}
        {o.periods > 1 ? ` in ${o.periods} periods` : ''}; {short ? 'settling' : <>the incident closes <Until at={p.settlingUntil} /> unless it fails again</>}
      </span>
    );
  }
  return (
    <span class="incident">
      {short ? <Ago at={o.since} suffix="" /> : <>failing for <Ago at={o.since} suffix="" /> (since <When at={o.since} />)</>}
      {flapped}
      {p.recovering && <strong class="recovering"> · recovering: {p.recovering.good} of {p.recovering.needed} good runs</strong>}
    </span>
  );
}

function StateBadge({ state }: { state: Health }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

// Glyphs every font has (emoji need a colour font a server may not have); CSS colours them.
const VERDICT_ICON: Record<LastVerdict, string> = { ok: '✔', degraded: '⚠', failed: '✘', inconclusive: '?', pending: '…' };
function VerdictIcon({ verdict }: { verdict: LastVerdict }) {
  return (
    <span class={`verdict verdict-${verdict}`} title={verdict}>
      {VERDICT_ICON[verdict]}
    </span>
  );
}

/** The main figure of recent runs as a line; a failed run (no figure) as a red mark at the foot. */
function Sparkline({ values }: { values: ProbeSummary['main']['recent'] }) {
  const points = values.map((v, i) => [i, v.ms] as const).filter((p): p is readonly [number, number] => p[1] !== null);
  const failed = values.map((v, i) => (v.failed ? i : -1)).filter((i) => i >= 0);
  if (points.length + failed.length < 2) return null;
  const max = Math.max(...points.map(([, v]) => v), 0.001);
  const w = 100;
  const h = 20;
  const step = w / Math.max(1, values.length - 1);
  const coords = points.map(([i, v]) => `${Math.round(i * step)},${Math.round(h - 1 - (v / max) * (h - 2))}`).join(' ');
  const label = `${points.length ? `max ${formatDuration(max)}` : 'no figure'}${failed.length ? `, ${failed.length} failed run(s)` : ''}`;
  return (
    <svg class="spark" viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={label}>
      {points.length > 1 && <polyline points={coords} />}
      {failed.map((i) => (
        <rect class="spark-failed" x={Math.max(0, Math.round(i * step) - 1)} y={h - 6} width={3} height={6} />
      ))}
    </svg>
  );
}

export function incidentsPage(incidents: IncidentRecord[] | Unreadable | undefined, filter: IncidentFilter, location: string, limit: number, health: StoreHealth | undefined): string {
  return page(
    <Layout title={`incidents · flowprobe · ${location}`}>
      <h1>
        Incidents <small>newest first</small>
      </h1>
      <form class="filter" method="get" action="/incidents">
        <label>
          probe <input name="probe" value={filter.probe ?? ''} size={24} />
        </label>
        <label>
          state{' '}
          <select name="state">
            {['', 'open', 'closed'].map((s) => (
              <option value={s} selected={(filter.state ?? '') === s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <StoreNote health={health} />
      {incidents === undefined ? (
        <p class="note">No history is kept (history.store: none, or its database could not be opened).</p>
      ) : 'unreadable' in incidents ? (
        <p class="warning">⚠ The history store cannot be read now ({incidents.unreadable}).</p>
      ) : (
        <IncidentTable incidents={incidents} showProbe />
      )}
      {Array.isArray(incidents) && incidents.length === limit && <p class="note">The newest {limit} shown; narrow the filter, or page through /api/v1/incidents with from and to.</p>}
    </Layout>,
  );
}

export function notFoundPage(name: string): string {
  return page(
    <Layout title="not found · flowprobe">
      <p>
        No probe named <code>{name}</code>. <a href="/">All probes</a>
      </p>
    </Layout>,
  );
}

export function probeHref(name: string): string {
  return `/probes/${encodeURIComponent(name)}`;
}
