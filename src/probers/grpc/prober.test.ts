// The grpc kind against real grpc-js servers on loopback: the standard health service (from
// grpc-health-check) flipping status while a Watch is held, a stream the server ends, a server
// without the health service, one that wants a token, one that never speaks, and TLS.
import assert from 'node:assert/strict';
import { once, EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import grpc from '@grpc/grpc-js';
import healthCheck, { HealthImplementation } from 'grpc-health-check';
import { headlineOf, runOnce } from '../../../test/probe-spec.js';
import { closedPort, tcpServer, type Running } from '../../../test/servers.js';
import { testPki, type TestPki } from '../../../test/tls.js';
import type { ProbeResult } from '../types.js';
import type { GrpcDetail } from './kind.js';

const run = (fields: Record<string, unknown>, timeoutMs = 3_000) => runOnce('grpc', fields, timeoutMs);

const headline = headlineOf;
const detailOf = (r: ProbeResult) => r.detail as GrpcDetail;

type Handlers = grpc.UntypedServiceImplementation;

/** The health service's own handlers (grpc-health-check), to wrap. */
function healthHandlers(health: HealthImplementation): Handlers {
  let handlers: Handlers | undefined;
  health.addToServer({ addService: (_service: unknown, implementation: Handlers) => (handlers = implementation) } as never);
  return handlers as Handlers;
}

async function serve(handlers: Handlers | undefined, credentials = grpc.ServerCredentials.createInsecure()): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  if (handlers) server.addService(healthCheck.service as unknown as grpc.ServiceDefinition, handlers);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
  return { port, server };
}

describe('grpc kind against grpc-js health servers', () => {
  const health = new HealthImplementation({ '': 'SERVING', 'orders.v1.Orders': 'SERVING', 'billing.v1.Billing': 'NOT_SERVING' });
  const watches = new EventEmitter();
  const servers: grpc.Server[] = [];
  const ports: Record<string, number> = {};
  let pki: TestPki;
  let silent: Running;
  before(async () => {
    const own = healthHandlers(health);
    const wrapped: Handlers = {
      Check: own.check as grpc.handleUnaryCall<unknown, unknown>,
      Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
        (own.watch as grpc.handleServerStreamingCall<unknown, unknown>)(call);
        watches.emit('watch', call.request.service);
      },
    };
    const ending: Handlers = {
      Check: own.check as grpc.handleUnaryCall<unknown, unknown>,
      Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => call.write({ status: 'SERVING' }, () => setTimeout(() => call.end(), 100)),
    };
    const guarded: Handlers = {
      Check: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        call.metadata.get('authorization')[0] === 'Bearer right-token-0123456789' ? callback(null, { status: 'SERVING' }) : callback({ code: grpc.status.UNAUTHENTICATED, details: 'bad token' }),
      Watch: own.watch as grpc.handleServerStreamingCall<unknown, unknown>,
    };
    pki = testPki();
    const tlsCredentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.concat([pki.viaIntermediate.cert, pki.intermediate.cert]), private_key: pki.viaIntermediate.key }]);
    for (const [name, handlers, credentials] of [['health', wrapped], ['ending', ending], ['guarded', guarded], ['bare', undefined], ['tls', own, tlsCredentials]] as const) {
      const { port, server } = await serve(handlers, credentials);
      ports[name] = port;
      servers.push(server);
    }
    silent = await tcpServer(() => undefined);
  });
  after(async () => {
    for (const server of servers) server.forceShutdown();
    await silent.close();
  });
  const url = (name: string) => `grpc://127.0.0.1:${ports[name]}`;

  it('checks a service, the whole server, and names a status other than the one expected', async () => {
    const [orders, whole, billing, unknown, unknownExpected] = await Promise.all([
      run({ url: url('health'), service: 'orders.v1.Orders', expect: { maxResponse: '2s' } }),
      run({ url: url('health') }),
      run({ url: url('health'), service: 'billing.v1.Billing' }),
      run({ url: url('health'), service: 'nope.v1.Nope' }),
      run({ url: url('health'), service: 'nope.v1.Nope', expect: { status: 'SERVICE_UNKNOWN' } }),
    ]);
    assert.deepEqual([orders, whole, unknownExpected].map(headline), ['ok', 'ok', 'ok']);
    assert.equal(detailOf(orders).status, 'SERVING');
    assert.ok((orders.phases.first_byte ?? 0) > 0, 'the answer time is a phase');
    assert.equal(headline(billing), 'assertion: billing.v1.Billing NOT_SERVING, expected SERVING');
    assert.equal(headline(unknown), 'assertion: nope.v1.Nope SERVICE_UNKNOWN (the server does not know the service: gRPC NOT_FOUND), expected SERVING');
  });

  it('holds a Watch and reports each status as it came: a flip to NOT_SERVING and back fails the run and says when', async () => {
    const watched = once(watches, 'watch');
    const running = run({ url: url('health'), service: 'orders.v1.Orders', watch: { hold: '2s' } }, 4_000);
    // The server has the Watch call (or the run ended without one, and the assertions say why).
    await Promise.race([watched, running]);
    health.setStatus('orders.v1.Orders', 'NOT_SERVING');
    health.setStatus('orders.v1.Orders', 'SERVING');
    const r = await running;
    assert.deepEqual(detailOf(r).changes.map((c) => c.status), ['SERVING', 'NOT_SERVING', 'SERVING']);
    assert.ok((detailOf(r).heldMs ?? 0) >= 2_000, 'held for the whole hold');
    assert.match(headline(r), /^assertion: orders\.v1\.Orders NOT_SERVING at \+[0-9.]+(?:µs|ms|s) of the 2s watch, expected SERVING \(seen: SERVING at \+[0-9.]+(?:µs|ms|s), NOT_SERVING at \+[0-9.]+(?:µs|ms|s), SERVING at \+[0-9.]+(?:µs|ms|s)\)$/);
    // Held steady, the same Watch passes.
    const steady = await run({ url: url('health'), service: 'orders.v1.Orders', watch: { hold: '300ms' } });
    assert.equal(headline(steady), 'ok');
    assert.deepEqual(detailOf(steady).changes.map((c) => c.status), ['SERVING']);
  });

  it('names a Watch the server ended, a missing health service, a refused token, a refusal and silence', async () => {
    const refused = `grpc://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const [ended, bare, denied, allowed, refusedRun, silentRun] = await Promise.all([
      run({ url: url('ending'), watch: { hold: '2s' } }),
      run({ url: url('bare') }),
      run({ url: url('guarded'), metadata: { authorization: 'Bearer wrong-token-0123456789' } }),
      run({ url: url('guarded'), metadata: { authorization: 'Bearer right-token-0123456789' } }),
      run({ url: refused }),
      run({ url: `grpc://127.0.0.1:${silent.port}` }, 1_000),
    ]);
    assert.match(headline(ended), /^closed: the server ended the Watch stream after [0-9.]+(?:µs|ms|s) of 2s; last status SERVING$/);
    assert.equal(headline(bare), 'protocol: the server does not implement the health service grpc.health.v1.Health (gRPC UNIMPLEMENTED)');
    assert.equal(headline(denied), 'auth: the server refused the call: bad token (gRPC UNAUTHENTICATED)');
    assert.equal(headline(allowed), 'ok');
    assert.equal(headline(refusedRun), `connect: connection refused: nothing listens on ${refused.slice('grpc://'.length)} (gRPC UNAVAILABLE)`);
    assert.equal(silentRun.ok ? '' : silentRun.failure.code, 'timeout');
    assert.ok(Date.now() - started < 3_500, 'every run ended within its deadline');
  });

  it('speaks TLS (grpcs://) with the certificate figures, and names a certificate it does not trust', async () => {
    const tlsUrl = `grpcs://127.0.0.1:${ports.tls}`;
    const [trusted, untrusted] = await Promise.all([
      run({ url: tlsUrl, tls: { ca: pki.root.certFile }, expect: { certExpiresIn: '7d' } }),
      run({ url: tlsUrl }),
    ]);
    assert.equal(headline(trusted), 'ok');
    assert.equal(trusted.tls?.subject, 'localhost');
    assert.ok((trusted.tls?.notAfter ?? 0) > Date.now() + 30 * 86_400_000);
    assert.equal(headline(untrusted), 'tls: TLS failed: unable to get local issuer certificate (gRPC UNAVAILABLE)');
  });
});
