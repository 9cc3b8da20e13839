// How `flowprobe probe` shows one result to a human.
import { formatDuration } from '../config/units.js';
import { PHASE_NAMES, type ProbeResult, type WebSocketDetail } from '../probers/types.js';

export function formatResult(result: ProbeResult, target: string): string {
  const lines: string[] = [];
  const verdict = result.ok ? `ok in ${formatDuration(result.durationMs)}` : `FAILED (${result.failure.code}) after ${formatDuration(result.durationMs)}`;
  lines.push(`${result.ok ? '✅' : '❌'} ${result.probe} (${result.kind})  ${target}  →  ${verdict}`);
  const phases = PHASE_NAMES.flatMap((phase) => {
    const ms = result.phases[phase];
    return ms === undefined ? [] : [`${phase} ${formatDuration(ms)}`];
  });
  if (phases.length > 0) lines.push(`   phases: ${phases.join(' · ')}`);
  const { detail } = result;
  switch (detail.kind) {
    case 'http':
      lines.push(`   http: status ${detail.status ?? '-'} · ${detail.bytes} bytes · ${detail.redirects} redirect(s)`);
      break;
    case 'sse': {
      const ms = (v: number | undefined) => (v === undefined ? '-' : formatDuration(v));
      lines.push(`   sse: ${detail.events} event(s) · ${detail.comments} comment(s) · ${detail.eventsPerMinute.toFixed(1)}/min · longest gap ${ms(detail.longestGapMs)} · since last ${ms(detail.sinceLastEventMs)}`);
      lines.push(`        ids: ${detail.missingIds} missing · ${detail.duplicateIds} duplicate${detail.reconnects ? ` · resumed in ${ms(detail.reconnectMs)}` : ''}`);
      if (detail.clients > 1) {
        lines.push(`        fan-out: ${detail.clientsOk}/${detail.clients} ok · first-event spread ${ms(detail.firstEventSpreadMs)} · delivery spread ${ms(detail.deliverySpreadMs)} · ${detail.sameEvents === false ? 'clients saw different events' : 'same events'}`);
      }
      break;
    }
    case 'websocket': {
      const pct = (label: string, v: WebSocketDetail['rttMs']) => (v ? `${label} p50 ${formatDuration(v.p50)} · p95 ${formatDuration(v.p95)} · p99 ${formatDuration(v.p99)} · max ${formatDuration(v.max)} (${v.n})` : `${label} -`);
      lines.push(`   ws: ${detail.connectionsOk}/${detail.connections} connection(s) ok · sent ${detail.sent} · received ${detail.received} · subprotocol ${detail.subprotocol ?? '-'} · close ${detail.closeCode ?? '-'}`);
      lines.push(`       ${pct('handshake', detail.handshakeMs)}`);
      lines.push(`       ${pct('rtt', detail.rttMs)}`);
      lines.push(`       order: ${detail.outOfOrder} out of order · ${detail.missing} missing · ${detail.duplicate} duplicate`);
      const failures = Object.entries(detail.failures);
      if (failures.length) lines.push(`       failed connections: ${failures.map(([code, n]) => `${code} ×${n}`).join(', ')}`);
      break;
    }
    case 'flow': {
      const legs = Object.entries(detail.legs).map(([leg, ms]) => `${leg} ${formatDuration(ms)}`);
      lines.push(`   flow: legs ${legs.length ? legs.join(' · ') : '-'} · total ${detail.totalMs === undefined ? '-' : formatDuration(detail.totalMs)} · ${detail.polls} poll(s)${detail.injected ? '' : ' · nothing injected'}`);
      if (detail.unfinished.length) lines.push(`         unfinished: ${detail.unfinished.join(', ')}`);
      break;
    }
    default:
      detail satisfies never;
  }
  if (result.checks.length > 0) {
    lines.push('   checks:');
    for (const c of result.checks) lines.push(`     ${c.ok ? '✅' : '❌'} ${c.name}: expected ${c.expected}, observed ${c.observed}`);
  }
  if (!result.ok) lines.push(`   failure: ${result.failure.code}: ${result.failure.message}`);
  return lines.join('\n');
}
