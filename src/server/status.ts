// The /api/v1/status document: per probe its schedule, target, state, baseline, current outage,
// recent results and failures; the daemon's config and watched processes. Secrets are removed
// by the caller.
import type { Config } from '../config/load.js';
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import type { Detector } from '../detect/detector.js';
import { targetOf } from '../probers/run-probe.js';
import type { ProbeResult } from '../probers/types.js';
import type { ProcessReading } from '../resources/monitor.js';
import type { History } from '../results/history.js';

export interface StatusInputs {
  config: Config;
  version: string;
  startedAt: number;
  lastReload: { at: number; ok: boolean; problems: string[] };
  now: number;
  history: History;
  detector: Detector;
  resources: ProcessReading[];
}

export function statusDocument(inputs: StatusInputs) {
  const { config, history, detector, now } = inputs;
  const probes = config.probes.map((spec) => {
    const recent = history.recentOf(spec.name);
    const last = recent[0];
    const detected = detector.state(spec.name);
    const outage = detected?.outage;
    return {
      name: spec.name,
      kind: spec.kind,
      source: spec.source,
      schedule: describeSchedule(spec),
      timeout: formatDuration(spec.timeoutMs),
      target: targetOf(spec),
      state: detected?.health ?? 'healthy',
      baselineMs: detected?.baselineMs,
      outage: outage && detected?.health === 'failing' ? { since: new Date(outage.startedAt).toISOString(), ageMs: Math.round(now - outage.startedAt), lastFailure: outage.lastFailure } : undefined,
      last: last && summarize(last),
      recent: recent.map(summarize),
      failures: history.failuresOf(spec.name).map(summarize),
    };
  });
  return {
    location: config.settings.location,
    version: inputs.version,
    startedAt: new Date(inputs.startedAt).toISOString(),
    config: { file: config.configFile, lastReload: { ...inputs.lastReload, at: new Date(inputs.lastReload.at).toISOString() } },
    resources: inputs.resources,
    probes,
  };
}

function describeSchedule(spec: ProbeSpec): string {
  const { schedule } = spec;
  switch (schedule.type) {
    case 'every':
      return `every ${formatDuration(schedule.everyMs)}`;
    case 'cron':
      return `cron ${schedule.cron.toJSON()}`;
    default:
      return schedule satisfies never;
  }
}

function summarize(result: ProbeResult) {
  return {
    runId: result.runId,
    at: new Date(result.startedAt).toISOString(),
    ok: result.ok,
    verdict: result.verdict,
    degradation: result.verdict === 'degraded' ? result.degradation : undefined,
    durationMs: Math.round(result.durationMs * 100) / 100,
    failure: result.ok ? undefined : result.failure,
    phases: Object.fromEntries(Object.entries(result.phases).map(([phase, ms]) => [phase, Math.round(ms * 1000) / 1000])),
    checks: result.checks,
    detail: result.detail,
  };
}
