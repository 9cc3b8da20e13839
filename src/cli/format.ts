// How `flowprobe probe` shows one result to a human.
import { describeTls } from '../probers/tls-report.js';
import { formatDuration } from '../config/units.js';
import { kindOf } from '../probers/kinds.js';
import { PHASE_NAMES, type ProbeDetail, type ProbeResult, type Verdict } from '../probers/types.js';

export function formatResult(result: ProbeResult, target: string): string {
  const lines: string[] = [];
  const took = formatDuration(result.durationMs);
  const verdict = result.verdict === 'ok' ? `ok in ${took}` : result.verdict === 'degraded' ? `DEGRADED in ${took}` : `FAILED (${result.failure.code}) after ${took}`;
  lines.push(`${checkMark(result.verdict)} ${result.probe} (${result.kind})  ${target}  →  ${verdict}`);
  const phases = PHASE_NAMES.flatMap((phase) => {
    const ms = result.phases[phase];
    return ms === undefined ? [] : [`${phase} ${formatDuration(ms)}`];
  });
  if (phases.length > 0) lines.push(`   phases: ${phases.join(' · ')}`);
  if (result.families) for (const f of result.families) lines.push(`   ${f.family}: ${f.verdict}${f.address ? ` via ${f.address}` : ''}${f.headline ? ` — ${f.headline}` : ''}`);
  else if (result.remote) lines.push(`   address: ${result.remote.address} (IPv${result.remote.family})`);
  if (result.tls) lines.push(`   ${describeTls(result.tls, result.startedAt)}`);
  // The kind's own lines, from the kinds table.
  for (const line of describeDetail(result.detail)) lines.push(`   ${line}`);
  if (result.checks.length > 0) {
    lines.push('   checks:');
    for (const c of result.checks) lines.push(`     ${checkMark(c.ok ? (c.degraded ? 'degraded' : 'ok') : 'failed')} ${c.name}: expected ${c.expected}, observed ${c.observed}`);
  }
  if (result.verdict === 'degraded') lines.push(`   degraded: ${result.degradation}`);
  if (!result.ok) lines.push(`   failure: ${result.failure.code}: ${result.failure.message}`);
  return lines.join('\n');
}

export function checkMark(verdict: Verdict): string {
  return verdict === 'ok' ? '✅' : verdict === 'degraded' ? '⚠️' : '❌';
}

function describeDetail<D extends ProbeDetail>(detail: D): string[] {
  return (kindOf(detail.kind).describe as (d: D) => string[])(detail);
}
