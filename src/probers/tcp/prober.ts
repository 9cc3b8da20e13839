// tcp prober: the connection every prober opens (openTimedSocket), then, if asked, bytes sent
// and a reply read until it matches, the peer closes, maxReply bytes came or `within` passed.
// Headlines: refused, timed out, reset (after how many bytes), or the reply that came instead.
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { formatDuration, formatSize } from '../../config/units.js';
import { lookupFamily } from '../../config/probe-fields.js';
import type { ProbeSpec } from '../../config/schema.js';
import { check, checkLimit, limitChecks } from '../checks.js';
import { classifyError } from '../classify-error.js';
import { causeOf, openTimedSocket, stageOf, type Timeline } from '../connect.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { TcpDetail } from './kind.js';

export async function probeTcp(spec: ProbeSpec<'tcp'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const detail: TcpDetail = { kind: 'tcp', connectMs: undefined, sent: 0, received: 0, replyMs: undefined };
  const started = performance.now();
  const outcome = (failure: Failure | undefined, checks: CheckResult[]): ProberOutcome => ({ failure, phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks, detail });
  let socket: Socket;
  try {
    socket = await openTimedSocket({ hostname: spec.url.hostname, port: spec.url.port, secure: spec.url.scheme === 'tcps' }, spec.tls, timeline, ctx.signal, lookupFamily(spec.ipFamily));
  } catch (error) {
    return outcome(classifyError(causeOf(error, timeline), ctx.signal, stageOf(timeline)), []);
  }
  detail.connectMs = performance.now() - started;
  const checks = limitChecks([checkLimit('connect', detail.connectMs, { fail: spec.expect.maxConnect, degrade: spec.degradeWhen.maxConnect }, 'duration')]);
  try {
    if (spec.send !== undefined) {
      socket.write(spec.send);
      detail.sent = Buffer.byteLength(spec.send);
    }
    const wanted = spec.expect.reply;
    if (!wanted) return outcome(checks.some((c) => !c.ok) ? { code: 'assertion', message: `connect ${formatDuration(detail.connectMs)}, over ${formatDuration(spec.expect.maxConnect ?? 0)}` } : undefined, checks);
    const replyStart = performance.now();
    const reply = await readReply(socket, spec.maxReply, wanted.within, (text) => wanted.matches.test(text), ctx.signal, timeline);
    detail.received = reply.bytes;
    if (reply.matched) detail.replyMs = performance.now() - replyStart;
    if (reply.matched) timeline.phases.first_byte = detail.replyMs;
    const came = reply.text.length === 0 ? 'nothing came' : `came ${JSON.stringify(reply.text.replace(/\s+$/, ''))}`;
    checks.push(check('reply', reply.matched, `matches /${wanted.matches.source}/ within ${formatDuration(wanted.within)}`, reply.text.length === 0 ? 'nothing' : JSON.stringify(reply.text.replace(/\s+$/, ''))));
    if (reply.matched) return outcome(undefined, checks);
    if (reply.end === 'reset') return outcome({ code: 'closed', message: `connection reset by the peer after ${formatSize(reply.bytes)}${reply.bytes ? `: ${came}` : ''}` }, checks);
    if (reply.end === 'closed') return outcome({ code: 'closed', message: `the server closed the connection after ${formatSize(reply.bytes)}, without a reply matching /${wanted.matches.source}/: ${came}` }, checks);
    if (reply.end === 'aborted') return outcome(classifyError(ctx.signal.reason, ctx.signal, 'exchange'), checks);
    if (reply.end === 'timeout' && reply.bytes === 0) return outcome({ code: 'timeout', message: `no reply within ${formatDuration(wanted.within)}: nothing came` }, checks);
    return outcome({ code: 'assertion', message: `reply did not match /${wanted.matches.source}/: ${came}` }, checks);
  } finally {
    socket.destroy();
  }
}

interface Reply {
  text: string;
  bytes: number;
  matched: boolean;
  end: 'matched' | 'closed' | 'reset' | 'timeout' | 'full' | 'aborted';
}

/** Reads until the text matches, the peer closes or resets, `max` bytes came, or `within` passed. */
function readReply(socket: Socket, max: number, within: number, matches: (text: string) => boolean, signal: AbortSignal, timeline: Timeline): Promise<Reply> {
  return new Promise((resolve) => {
    let text = '';
    let bytes = 0;
    const finish = (end: Reply['end']) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('data');
      resolve({ text, bytes, matched: end === 'matched', end });
    };
    const timer = setTimeout(() => finish('timeout'), within);
    const onAbort = () => finish('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', (chunk: Buffer) => {
      const room = max - bytes;
      const kept = chunk.subarray(0, Math.max(0, room));
      bytes += kept.length;
      text += kept.toString('latin1');
      if (matches(text)) finish('matched');
      else if (bytes >= max) finish('full');
    });
    socket.once('end', () => finish('closed'));
    socket.once('close', () => finish(timeline.socketError === 'ECONNRESET' ? 'reset' : 'closed'));
  });
}
