// How `flowprobe probe` shows one result to a human.
import { formatDuration } from '../config/units.js';
import { kindOf } from '../probers/kinds.js';
import { PHASE_NAMES, type ProbeDetail, type ProbeResult } from '../probers/types.js';

export function formatResult(result: ProbeResult, target: string): string {
  const lines: string[] = [];
  const verdict = result.ok ? `ok in ${formatDuration(result.durationMs)}` : `FAILED (${result.failure.code}) after ${formatDuration(result.durationMs)}`;
  lines.push(`${result.ok ? '✅' : '❌'} ${result.probe} (${result.kind})  ${target}  →  ${verdict}`);
  const phases = PHASE_NAMES.flatMap((phase) => {
    const ms = result.phases[phase];
    return ms === undefined ? [] : [`${phase} ${formatDuration(ms)}`];
  });
  if (phases.length > 0) lines.push(`   phases: ${phases.join(' · ')}`);
  // The kind's own lines, from the kinds table.
  for (const line of describeDetail(result.detail)) lines.push(`   ${line}`);
  if (result.checks.length > 0) {
    lines.push('   checks:');
    for (const c of result.checks) lines.push(`     ${c.ok ? '✅' : '❌'} ${c.name}: expected ${c.expected}, observed ${c.observed}`);
  }
  if (!result.ok) lines.push(`   failure: ${result.failure.code}: ${result.failure.message}`);
  return lines.join('\n');
}

function describeDetail<D extends ProbeDetail>(detail: D): string[] {
  return (kindOf(detail.kind).describe as (d: D) => string[])(detail);
}
