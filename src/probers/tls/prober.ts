// tls prober: opens the connection the way every prober does (openTimedSocket: DNS, connect
// and the handshake timed, the chain verified, the certificates recorded), then closes it. The
// certificate limit and phase limits are checked by run-probe, as for every kind.
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { lookupFamily } from '../../config/probe-fields.js';
import type { ProbeSpec } from '../../config/schema.js';
import { checkLimit, limitChecks } from '../checks.js';
import { classifyError } from '../classify-error.js';
import { causeOf, openTimedSocket, stageOf, type Timeline } from '../connect.js';
import type { ProbeContext, ProberOutcome } from '../types.js';
import type { TlsDetail } from './kind.js';

export async function probeTls(spec: ProbeSpec<'tls'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const detail: TlsDetail = { kind: 'tls', handshakeMs: undefined, alpn: undefined };
  const started = performance.now();
  try {
    const socket = (await openTimedSocket({ hostname: spec.url.hostname, port: spec.url.port, secure: true, alpn: spec.alpn }, spec.tls, timeline, ctx.signal, lookupFamily(spec.ipFamily))) as TLSSocket;
    detail.handshakeMs = performance.now() - started - (timeline.phases.dns ?? 0);
    detail.alpn = socket.alpnProtocol || undefined;
    socket.destroy();
    const checks = limitChecks([checkLimit('handshake', detail.handshakeMs, { fail: spec.expect.maxHandshake, degrade: spec.degradeWhen.maxHandshake }, 'duration')]);
    const failed = checks.find((c) => !c.ok);
    return { failure: failed ? { code: 'assertion', message: `handshake ${failed.observed}, over ${failed.expected.replace(/^<= /, '')}` } : undefined, phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks, detail };
  } catch (error) {
    return { failure: classifyError(causeOf(error, timeline), ctx.signal, stageOf(timeline)), phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks: [], detail };
  }
}
