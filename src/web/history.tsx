// What the page shows of the history store: 90 daily bars, uptime over 24 h / 7 d / 30 d / 90 d
// (from the same rows), a response-time chart with its p50 and p95 per hour (SVG drawn here, no
// chart library in the browser), and incidents with their causes, durations and timelines.
import { formatDuration } from '../config/units.js';
import { MAX_PENDING, type Aggregate, type IncidentRecord, type StoreHealth } from '../store/store.js';
import { formatUptime, UPTIME_WINDOWS, type DayBar, type ProbeHistory } from '../store/views.js';
import { When } from './time.js';

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function describeDay(b: DayBar): string {
  const runs = b.runs === 0 ? 'no data' : `${formatUptime(b.uptime)} up (${b.failed} of ${b.runs} runs failed${b.degraded ? `, ${b.degraded} degraded` : ''})`;
  return `${dayOf(b.start)}: ${runs}${b.incidents ? `, ${b.incidents} incident${b.incidents > 1 ? 's' : ''}` : ''}`;
}

/** The bars, oldest first. On a probe's page every bar is focusable and read out; on the
 * overview the strip is one focusable image whose label sums it up (90 tab stops a row would
 * make the table unusable from a keyboard), each bar still told on hover. */
export function DayStrip({ bars, each }: { bars: DayBar[]; each: boolean }) {
  const count = (state: DayBar['state']) => bars.filter((b) => b.state === state).length;
  const summary = `${bars.length} days: ${count('failed')} with failures of 1 % or more, ${count('degraded')} with some, ${count('ok')} clean, ${count('none')} without data`;
  if (!each) {
    return (
      <span class="days" role="img" aria-label={summary} tabindex={0}>
        {bars.map((b) => (
          <span class={`day day-${b.state}`} title={describeDay(b)} />
        ))}
      </span>
    );
  }
  return (
    <ol class="days each" aria-label={`the last ${bars.length} days, oldest first`}>
      {bars.map((b) => (
        <li class={`day day-${b.state}`} title={describeDay(b)} tabindex={0} aria-label={describeDay(b)} />
      ))}
    </ol>
  );
}

export function UptimeLine({ uptime }: { uptime: ProbeHistory['uptime'] }) {
  return (
    <p class="uptime">
      uptime{' '}
      {(Object.keys(UPTIME_WINDOWS) as Array<keyof typeof UPTIME_WINDOWS>).map((w, i) => (
        <>
          {i > 0 && ' · '}
          {w} <strong>{formatUptime(uptime[w])}</strong>
        </>
      ))}
    </p>
  );
}

/** p50 as a line and the p50–p95 band per hour, with a time axis (UTC) and a millisecond axis. */
export function LatencyChart({ rows, from, hours, label }: { rows: Aggregate[]; from: number; hours: number; label: string }) {
  const [w, h, left, bottom] = [640, 160, 52, 22];
  const points = rows.filter((a) => a.p50 !== undefined && a.p95 !== undefined);
  if (points.length === 0) return <p class="note">No {label} recorded in this span yet.</p>;
  const max = niceCeiling(Math.max(...points.map((a) => a.p95 as number)));
  const x = (t: number) => left + ((t - from) / (hours * 3_600_000)) * (w - left - 8);
  const y = (ms: number) => h - bottom - (ms / max) * (h - bottom - 8);
  const mid = (a: Aggregate) => a.start + 1_800_000;
  const band = [...points.map((a) => `${x(mid(a)).toFixed(1)},${y(a.p95 as number).toFixed(1)}`), ...[...points].reverse().map((a) => `${x(mid(a)).toFixed(1)},${y(a.p50 as number).toFixed(1)}`)].join(' ');
  const line = points.map((a) => `${x(mid(a)).toFixed(1)},${y(a.p50 as number).toFixed(1)}`).join(' ');
  const tickEvery = hours <= 24 ? 6 : 24;
  const ticks = Array.from({ length: Math.floor(hours / tickEvery) + 1 }, (_, i) => from + i * tickEvery * 3_600_000);
  const worst = points.reduce((a, b) => ((b.p95 as number) > (a.p95 as number) ? b : a));
  return (
    <svg class="chart" viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={`${label} per hour over ${hours} hours: p95 at most ${formatDuration(worst.p95 as number)} (${dayOf(worst.start)} ${new Date(worst.start).toISOString().slice(11, 16)} UTC), ${points.length} hours with data`}>
      {[0, max / 2, max].map((v) => (
        <>
          <line class="grid" x1={left} x2={w - 8} y1={y(v)} y2={y(v)} />
          <text class="axis" x={left - 4} y={y(v) + 4} text-anchor="end">
            {formatDuration(v)}
          </text>
        </>
      ))}
      {ticks.map((t, i) => (
        <text class="axis" x={x(t)} y={h - 6} text-anchor={i === ticks.length - 1 ? 'end' : i === 0 ? 'start' : 'middle'}>
          {hours <= 24 ? `${new Date(t).toISOString().slice(11, 16)}` : dayOf(t).slice(5)}
        </text>
      ))}
      {points.length > 1 ? <polygon class="band" points={band} /> : null}
      {points.length > 1 ? <polyline class="p50" points={line} /> : <circle class="p50" cx={x(mid(points[0] as Aggregate))} cy={y(points[0]?.p50 as number)} r={3} />}
    </svg>
  );
}

/** 1, 2 or 5 × a power of ten, at or above `ms`. */
function niceCeiling(ms: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(ms, 0.001)));
  return ([1, 2, 5, 10].map((m) => m * power).find((v) => v >= ms) as number) ?? 10 * power;
}

/** /incidents: every incident, newest first, filtered by probe and state. */
export interface IncidentFilter {
  probe: string | undefined;
  state: 'open' | 'closed' | undefined;
}

export function IncidentTable({ incidents, showProbe }: { incidents: IncidentRecord[]; showProbe: boolean }) {
  if (incidents.length === 0) return <p>No incident recorded.</p>;
  return (
    <table class="incidents">
      <thead>
        <tr>
          {showProbe && <th>probe</th>}
          <th>started</th>
          <th>state</th>
          <th>failing</th>
          <th>cause and timeline</th>
        </tr>
      </thead>
      <tbody>
        {incidents.map((i) => (
          <tr class={i.endedAt === undefined ? 'state-failing' : ''}>
            {showProbe && (
              <td>
                <a href={`/probes/${encodeURIComponent(i.probe)}`}>{i.probe}</a> <small>{i.location}</small>
              </td>
            )}
            <td class="nowrap">
              <When at={i.startedAt} />
            </td>
            <td>{i.endedAt === undefined ? 'open' : 'closed'}</td>
            <td class="nowrap">{i.durationMs === undefined ? 'ongoing' : formatDuration(i.durationMs)}</td>
            <td class="headline">
              {i.cause}
              <details>
                <summary>timeline ({i.timeline.length})</summary>
                <ol class="timeline">
                  {i.timeline.map((e) => (
                    <li>
                      <When at={e.at} /> {e.text}
                    </li>
                  ))}
                </ol>
              </details>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The top of a probe's page: its uptime and 90 days at a glance. */
export function HistoryHead({ history }: { history: ProbeHistory }) {
  return (
    <section id="days">
      <UptimeLine uptime={history.uptime} />
      <DayStrip bars={history.bars} each />
    </section>
  );
}

/** The foot of a probe's page: response times per hour over a day and a week, and incidents. */
export function HistoryBody({ probe, history, label, now }: { probe: string; history: ProbeHistory; label: string; now: number }) {
  const hour = Math.floor(now / 3_600_000) * 3_600_000;
  return (
    <section id="history">
      <h2>{label}: last 24 hours</h2>
      <LatencyChart rows={history.day} from={hour - 23 * 3_600_000} hours={24} label={label} />
      <h2>{label}: last 7 days</h2>
      <LatencyChart rows={history.week} from={hour - (7 * 24 - 1) * 3_600_000} hours={7 * 24} label={label} />
      <h2>Incidents</h2>
      <p class="meta">
        {history.mttrMs === undefined ? 'No closed incident in 90 days.' : `Mean time failing (MTTR) over the closed incidents of 90 days: ${formatDuration(history.mttrMs)}.`} <a href={`/incidents?probe=${encodeURIComponent(probe)}`}>all incidents</a>
      </p>
      <IncidentTable incidents={history.incidents} showProbe={false} />
    </section>
  );
}

/** Said at the top of every page while the history store cannot be written or read: since
 * when, why, and what is held meanwhile. */
export function StoreNote({ health }: { health: StoreHealth | undefined }) {
  if (!health?.problem) return null;
  const engine = health.engine === 'postgres' ? 'PostgreSQL' : 'SQLite';
  return (
    <p class="warning" id="store-note" role="status">
      ⚠ The history store ({engine}, {health.where}) is unreachable{health.since !== undefined && <> since <When at={health.since} /></>}: {health.problem}. {health.queued.toLocaleString('en')} run(s) are held in memory (at most {MAX_PENDING.toLocaleString('en')}) and written when it is back
      {health.dropped > 0 && <>; {health.dropped.toLocaleString('en')} older ones were dropped</>}. History shown here may be missing its last minutes.
    </p>
  );
}
