// The sse kind's rules across fields: the hold window fits inside the run's deadline, and a
// planned resume falls inside the window. The loader runs them through the kinds table.
import { problem, type Problem } from '../../config/diagnostics.js';
import { formatDuration } from '../../config/units.js';
import type { RawProbeOf } from '../kinds.js';

export function sseRules(raw: Partial<RawProbeOf<'sse'>>, { timeoutMs }: { timeoutMs: number }): Problem[] {
  const problems: Problem[] = [];
  if (raw.hold === undefined) return problems;
  if (raw.hold >= timeoutMs) problems.push(problem.at(['hold'], `expected a hold window shorter than the timeout (${formatDuration(timeoutMs)}), found ${formatDuration(raw.hold)}`));
  if (raw.resume && raw.resume.after >= raw.hold) problems.push(problem.at(['resume', 'after'], `expected resume.after inside the hold window (${formatDuration(raw.hold)}), found ${formatDuration(raw.resume.after)}`));
  return problems;
}
