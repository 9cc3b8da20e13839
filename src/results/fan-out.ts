// Every ProbeResult goes to each sink in order: metrics, history, log — and, where the detector
// plugs in, the detector. A sink that throws is a bug; it is logged and the others still run.
import type { Logger } from 'pino';
import type { ProbeResult } from '../probers/types.js';

export type ResultSink = (result: ProbeResult) => void;

export function fanOut(sinks: readonly ResultSink[], logger: Logger): ResultSink {
  return (result) => {
    for (const sink of sinks) {
      try {
        sink(result);
      } catch (err) {
        logger.error({ err, probe: result.probe }, 'result sink failed');
      }
    }
  };
}

/** One log line per result: info when ok, warn with the failure when not. */
export function logSink(logger: Logger): ResultSink {
  return (result) => {
    const fields = {
      probe: result.probe,
      kind: result.kind,
      run: result.runId,
      ok: result.ok,
      duration_ms: round(result.durationMs),
      phases: Object.fromEntries(Object.entries(result.phases).map(([k, v]) => [k, round(v)])),
      failed_checks: result.checks.filter((c) => !c.ok).map((c) => `${c.name}: expected ${c.expected}, observed ${c.observed}`),
    };
    if (result.ok) logger.info(fields, 'probe ok');
    else logger.warn({ ...fields, failure: result.failure }, `probe failed: ${result.failure.code}`);
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
