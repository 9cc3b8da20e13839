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
