// grpc prober: the standard health protocol (grpc.health.v1.Health) over a channel of its own
// each run (a fresh connection, closed after). Check asks once; Watch holds the stream for
// `watch.hold` and records every status it shows, as an SSE probe records events. gRPC status
// codes are named in the headline after the cause in words.
import { createPrivateKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import grpc from '@grpc/grpc-js';
import healthCheck from 'grpc-health-check';
import type { ProbeSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/units.js';
import { check, checkLimit, failureFromChecks, limitChecks } from '../checks.js';
import { abortFailure } from '../classify-error.js';
import { peerReport, type TlsReport } from '../tls-report.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { GrpcDetail } from './kind.js';

const CHANGES_KEPT = 32;
/** An answer larger than this is refused (a health status is a few bytes). */
const MAX_MESSAGE = 64 * 1024;

const HealthClient = grpc.makeClientConstructor(healthCheck.service as unknown as grpc.ServiceDefinition, 'grpc.health.v1.Health');
type HealthStub = grpc.Client & {
  Check(request: { service: string }, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: { status: string }) => void): grpc.ClientUnaryCall;
  Watch(request: { service: string }, metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientReadableStream<{ status: string }>;
};

export async function probeGrpc(spec: ProbeSpec<'grpc'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const detail: GrpcDetail = { kind: 'grpc', method: spec.watch ? 'Watch' : 'Check', service: spec.service, status: undefined, responseMs: undefined, grpcCode: undefined, changes: [], heldMs: undefined };
  const host = spec.url.hostname.includes(':') ? `[${spec.url.hostname}]` : spec.url.hostname;
  const target = `${host}:${spec.url.port}`;
  const client = new HealthClient(target, credentialsFor(spec), {
    'grpc.use_local_subchannel_pool': 1, // a connection of its own: runs never share one
    'grpc.enable_retries': 0,
    'grpc.max_receive_message_length': MAX_MESSAGE,
    ...(spec.tls.serverName ? { 'grpc.ssl_target_name_override': spec.tls.serverName, 'grpc.default_authority': spec.tls.serverName } : {}),
  }) as unknown as HealthStub;
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(spec.metadata)) metadata.set(key.toLowerCase(), value);
  const phases: ProberOutcome['phases'] = {};
  try {
    const ended = spec.watch ? await watch(client, spec, metadata, ctx, detail) : await checkOnce(client, spec, metadata, ctx, detail);
    if (detail.responseMs !== undefined) phases.first_byte = detail.responseMs;
    const checks = ended.failure ? [] : statusChecks(spec, detail);
    return { failure: ended.failure ?? failureFromChecks(checks), phases, checks, detail, tls: ended.tls };
  } finally {
    client.close();
  }
}

interface Ended {
  failure: Failure | undefined;
  tls: TlsReport | undefined;
}

function checkOnce(client: HealthStub, spec: ProbeSpec<'grpc'>, metadata: grpc.Metadata, ctx: ProbeContext, detail: GrpcDetail): Promise<Ended> {
  const started = performance.now();
  return new Promise((resolve) => {
    const call = client.Check({ service: spec.service }, metadata, { deadline: new Date(Date.now() + spec.timeoutMs) }, (error, response) => {
      ctx.signal.removeEventListener('abort', cancel);
      const tls = tlsOf(call, spec);
      if (error && error.code === grpc.status.NOT_FOUND) {
        // The protocol's SERVICE_UNKNOWN: an answer, not a broken call.
        detail.responseMs = performance.now() - started;
        detail.status = 'SERVICE_UNKNOWN';
        return resolve({ failure: undefined, tls });
      }
      if (error) {
        detail.grpcCode = grpc.status[error.code];
        return resolve({ failure: callFailure(error, spec, ctx.signal), tls });
      }
      detail.responseMs = performance.now() - started;
      detail.status = response?.status ?? 'UNKNOWN';
      resolve({ failure: undefined, tls });
    });
    const cancel = () => call.cancel();
    ctx.signal.addEventListener('abort', cancel, { once: true });
  });
}

/** Holds a Watch stream for `watch.hold`: every status it shows, when; the stream ending or
 * breaking before then fails the run. */
function watch(client: HealthStub, spec: ProbeSpec<'grpc'>, metadata: grpc.Metadata, ctx: ProbeContext, detail: GrpcDetail): Promise<Ended> {
  const hold = spec.watch?.hold ?? 0;
  const started = performance.now();
  const call = client.Watch({ service: spec.service }, metadata, {});
  let tls: TlsReport | undefined;
  return new Promise((resolve) => {
    let done = false;
    const finish = (failure: Failure | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      detail.heldMs = performance.now() - started;
      call.removeAllListeners('data');
      call.on('error', () => undefined); // the CANCELLED our cancel brings
      call.cancel();
      resolve({ failure, tls });
    };
    const timer = setTimeout(() => finish(undefined), hold);
    const onAbort = () => finish(abortFailure(ctx.signal));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    call.on('metadata', () => (tls ??= tlsOf(call, spec)));
    call.on('data', (message: { status: string }) => {
      const atMs = performance.now() - started;
      tls ??= tlsOf(call, spec);
      detail.responseMs ??= atMs;
      detail.status = message.status;
      if (detail.changes.length < CHANGES_KEPT) detail.changes.push({ status: message.status, atMs });
    });
    const last = () => (detail.status ? `; last status ${detail.status}` : '; no status came');
    call.on('error', (error: grpc.ServiceError) => {
      detail.grpcCode = grpc.status[error.code];
      const cause = callFailure(error, spec, ctx.signal);
      finish({ code: cause.code, message: `the Watch stream broke after ${formatDuration(performance.now() - started)} of ${formatDuration(hold)}: ${cause.message}${last()}` });
    });
    call.on('end', () => finish({ code: 'closed', message: `the server ended the Watch stream after ${formatDuration(performance.now() - started)} of ${formatDuration(hold)}${last()}` }));
  });
}

/** The status against the one expected (with Watch: every status seen during the hold), and the
 * response time against its limits. */
function statusChecks(spec: ProbeSpec<'grpc'>, detail: GrpcDetail): CheckResult[] {
  const wanted = spec.expect.status;
  const name = spec.service || 'the server';
  const checks: CheckResult[] = [];
  if (detail.method === 'Check') {
    const ok = detail.status === wanted;
    const c = check('status', ok, wanted, detail.status ?? 'none');
    checks.push(ok ? c : { ...c, headline: `${name} ${detail.status}${detail.status === 'SERVICE_UNKNOWN' ? ' (the server does not know the service: gRPC NOT_FOUND)' : ''}, expected ${wanted}` });
  } else {
    const other = detail.changes.find((c) => c.status !== wanted);
    const seen = detail.changes.map((c) => `${c.status} at +${formatDuration(c.atMs)}`).join(', ');
    const c = check('status', detail.changes.length > 0 && other === undefined, `${wanted} throughout`, seen || 'no status');
    if (detail.changes.length === 0) checks.push({ ...c, code: 'stale', headline: `no status on the Watch stream of ${name} in ${formatDuration(detail.heldMs ?? 0)}` });
    else checks.push(other === undefined ? c : { ...c, headline: `${name} ${other.status} at +${formatDuration(other.atMs)} of the ${formatDuration(spec.watch?.hold ?? 0)} watch, expected ${wanted} (seen: ${seen})` });
  }
  const response = checkLimit('response', detail.responseMs, { fail: spec.expect.maxResponse, degrade: spec.degradeWhen.maxResponse }, 'duration');
  checks.push(...limitChecks([response && !response.ok ? { ...response, headline: `${detail.method === 'Watch' ? 'first status' : 'answer'} from ${name} after ${response.observed}, over ${formatDuration(spec.expect.maxResponse ?? 0)}` } : response]));
  return checks;
}

/** A call that ended in a gRPC error: the cause in words first, the status code named after. */
function callFailure(error: grpc.ServiceError, spec: ProbeSpec<'grpc'>, signal: AbortSignal): Failure {
  if (signal.aborted) return abortFailure(signal);
  const name = grpc.status[error.code] ?? String(error.code);
  const code = `gRPC ${name}`;
  // grpc-js wraps a connection's failure: "No connection established. Last error: Error: connect
  // ECONNREFUSED 127.0.0.1:1. Resolution note: " — the last error is the cause.
  const raw = error.details || error.message;
  const details = /Last error: (?:Error: )?(.*?)\.? Resolution note:/.exec(raw)?.[1] ?? raw;
  const at = `${spec.url.hostname}:${spec.url.port}`;
  switch (error.code) {
    case grpc.status.UNAVAILABLE:
      if (/ECONNREFUSED/.test(details)) return { code: 'connect', message: `connection refused: nothing listens on ${at} (${code})` };
      if (/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i.test(details)) return { code: 'dns', message: `the host name does not resolve: ${details} (${code})` };
      if (/certificate|self[- ]signed|SSL|TLS|handshake/i.test(details)) return { code: 'tls', message: `TLS failed: ${details} (${code})` };
      if (/ECONNRESET|Connection dropped|closed/i.test(details)) return { code: 'closed', message: `the connection was closed: ${details} (${code})` };
      return { code: 'connect', message: `the server is unavailable: ${details} (${code})` };
    case grpc.status.DEADLINE_EXCEEDED:
      return { code: 'timeout', message: `no answer within the run's deadline of ${formatDuration(spec.timeoutMs)} (${code})` };
    case grpc.status.UNIMPLEMENTED:
      return { code: 'protocol', message: `the server does not implement the health service grpc.health.v1.Health (${code})` };
    case grpc.status.UNAUTHENTICATED:
    case grpc.status.PERMISSION_DENIED:
      return { code: 'auth', message: `the server refused the call: ${details} (${code})` };
    case grpc.status.RESOURCE_EXHAUSTED:
      return { code: 'protocol', message: `the server refused the call as too much: ${details} (${code})` };
    default:
      return { code: 'protocol', message: `the call failed: ${details} (${code})` };
  }
}

/** The certificate the call's connection showed (grpcs:// only). */
function tlsOf(call: grpc.ClientUnaryCall | grpc.ClientReadableStream<unknown>, spec: ProbeSpec<'grpc'>): TlsReport | undefined {
  if (spec.url.scheme !== 'grpcs') return undefined;
  const peer = call.getAuthContext()?.sslPeerCertificate;
  return peerReport(peer, { version: undefined, cipher: undefined, verified: !spec.tls.insecureSkipVerify, verifyError: undefined });
}

function credentialsFor(spec: ProbeSpec<'grpc'>): grpc.ChannelCredentials {
  if (spec.url.scheme === 'grpc') return grpc.credentials.createInsecure();
  const { ca, cert, key, passphrase, insecureSkipVerify } = spec.tls;
  // gRPC takes a key in the clear: an encrypted one is opened with its passphrase here (checked
  // at load, so this cannot fail on a run).
  const clearKey = key && passphrase ? Buffer.from(createPrivateKey({ key, passphrase }).export({ type: 'pkcs8', format: 'pem' })) : key;
  return grpc.credentials.createSsl(ca ?? null, clearKey ?? null, cert ?? null, insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
}
