// Runs a probe through its kind's prober (the table in kinds.ts), and the guard that turns a prober's bug
// into an `internal` result instead of a crashed daemon.
import { performance } from 'node:perf_hooks';
import type { ProbeKind, ProbeSpec } from '../config/schema.js';
import { kindOf } from './kinds.js';
import { checkLimit, degradationOf, failureFromChecks, limitChecks, shorten } from './checks.js';
import { certificateCheck, certificateHeadline } from './tls-report.js';
import { PHASE_NAMES, type CheckResult, type PhaseName, type Phases, type ProbeContext, type ProberOutcome, type ProbeResult } from './types.js';

type Prober = (spec: ProbeSpec, ctx: ProbeContext) => Promise<ProberOutcome>;
/** Each kind's prober, once its module is loaded: a dynamic import() per run, even of a module
 * already loaded, went through the ES module loader every time (4.6 % of all allocation at 200
 * HTTP probes/s; docs/benchmarks.md). */
const probers = new Map<ProbeKind, Prober>();

async function dispatch(spec: ProbeSpec, ctx: ProbeContext): Promise<ProberOutcome> {
  let prober = probers.get(spec.kind);
  if (!prober) probers.set(spec.kind, (prober = (await kindOf(spec.kind).prober()) as Prober));
  return prober(spec, ctx);
}

export interface RunMeta {
  slot: number;
  /** Epoch ms at the actual start. */
  startedAt: number;
}

export async function runProbe(spec: ProbeSpec, ctx: ProbeContext, meta: RunMeta): Promise<ProbeResult> {
  if ((spec as { ipFamily?: string }).ipFamily === 'both') return runEachFamily(spec, ctx, meta);
  return runOnce(spec, ctx, meta);
}

/** ipFamily: both — the run once over IPv4 and once over IPv6, at the same time: it fails when
 * either fails, and its headline names the family ("IPv6: connection refused…; IPv4 ok"). */
async function runEachFamily(spec: ProbeSpec, ctx: ProbeContext, meta: RunMeta): Promise<ProbeResult> {
  const [v4, v6] = await Promise.all([runOnce({ ...spec, ipFamily: 'ipv4' } as ProbeSpec, ctx, meta), runOnce({ ...spec, ipFamily: 'ipv6' } as ProbeSpec, ctx, meta)]);
  type Named = { name: 'IPv4' | 'IPv6'; run: ProbeResult };
  const ipv4: Named = { name: 'IPv4', run: v4 };
  const ipv6: Named = { name: 'IPv6', run: v6 };
  const rank = (r: ProbeResult) => (r.verdict === 'failed' ? 2 : r.verdict === 'degraded' ? 1 : 0);
  const [worst, other] = rank(v6) > rank(v4) ? [ipv6, ipv4] : [ipv4, ipv6];
  const headline = (r: ProbeResult) => (r.ok ? (r.verdict === 'degraded' ? r.degradation : undefined) : r.failure.message);
  const say = ({ name, run }: Named) => (run.verdict === 'ok' ? `${name} ok` : `${name}${run.verdict === 'degraded' ? ' degraded' : ''}: ${headline(run)}`);
  const families = [ipv4, ipv6].map(({ name, run }) => ({ family: name, verdict: run.verdict, headline: headline(run), address: run.remote?.address }));
  // The worse family's result, its headline saying which family said what.
  const result = { ...worst.run, durationMs: Math.max(v4.durationMs, v6.durationMs), families };
  const story = `${say(worst)}; ${say(other)}`;
  if (!result.ok) return { ...result, failure: { code: result.failure.code, message: shorten(story, 1_000) } };
  if (result.verdict === 'degraded') return { ...result, degradation: shorten(story, 1_000) };
  return result;
}

async function runOnce(spec: ProbeSpec, ctx: ProbeContext, meta: RunMeta): Promise<ProbeResult> {
  const t0 = performance.now();
  let outcome: ProberOutcome;
  try {
    outcome = await dispatch(spec, ctx);
  } catch (error) {
    // A prober must return failures, not throw them: this is a bug, reported as such.
    const message = ctx.redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    outcome = { failure: { code: 'internal', message: `prober error: ${message}` }, phases: {}, checks: [], detail: emptyDetail(spec) };
  }
  // Phase limits work the same for every kind: checked here, after the prober measured them.
  const phaseChecks = checkPhases(spec, outcome.phases);
  if (phaseChecks.length > 0) {
    outcome = { ...outcome, checks: [...outcome.checks, ...phaseChecks], failure: outcome.failure ?? failureFromChecks(phaseChecks) };
  }
  // So does the certificate limit, for every kind that speaks TLS: checked on every run that
  // connected, its headline the certificate's (whose, when, against which limit).
  const cert = certificateLimit(spec, outcome, meta.startedAt);
  if (cert) {
    const failure = outcome.failure ?? (cert.ok ? undefined : { code: 'tls' as const, message: certificateHeadline(cert) });
    outcome = { ...outcome, checks: [...outcome.checks, cert], failure, degradation: outcome.degradation ?? (cert.degraded ? `${certificateHeadline(cert)}, over its degrade limit` : undefined) };
  }
  const base = {
    probe: spec.name,
    kind: spec.kind,
    runId: ctx.runId,
    slot: meta.slot,
    startedAt: meta.startedAt,
    durationMs: performance.now() - t0,
    phases: outcome.phases,
    // What a target answered can echo what we sent it: checks are scrubbed like messages.
    // Redacted first, shortened after: a cut can never leave part of a secret behind.
    checks: failedFirst(outcome.checks).map((c) => ({ ...c, expected: shorten(ctx.redact(c.expected)), observed: shorten(ctx.redact(c.observed)) })),
    detail: outcome.detail,
    ...(outcome.tls ? { tls: outcome.tls } : {}),
    ...(outcome.remote ? { remote: outcome.remote } : {}),
  };
  if (outcome.failure !== undefined) return { ...base, ok: false, verdict: 'failed', failure: { code: outcome.failure.code, message: shorten(ctx.redact(outcome.failure.message), 1_000) } };
  // A degraded run's headline: the prober's when it knows the cause better (bursts, a
  // certificate), else the first degraded check's.
  const fromChecks = degradationOf(base.checks);
  const degradation = fromChecks === undefined || outcome.degradation === undefined ? fromChecks : shorten(ctx.redact(outcome.degradation), 1_000);
  return degradation === undefined ? { ...base, ok: true, verdict: 'ok' } : { ...base, ok: true, verdict: 'degraded', degradation };
}

/** Every kind's checks read the same way: what failed first, then what was degraded, then the
 * rest, each group in the order the prober made them. */
function failedFirst(checks: readonly CheckResult[]): readonly CheckResult[] {
  if (checks.every((c) => c.ok && !c.degraded)) return checks;
  return [...checks.filter((c) => !c.ok), ...checks.filter((c) => c.ok && c.degraded), ...checks.filter((c) => c.ok && !c.degraded)];
}

/** The certificate check when the probe sets a limit and the run got as far as TLS (a run that
 * failed before it says why already). */
function certificateLimit(spec: ProbeSpec, outcome: ProberOutcome, now: number): CheckResult | undefined {
  const fail = (spec.expect as { certExpiresIn?: number }).certExpiresIn;
  const degrade = (spec.degradeWhen as { certExpiresIn?: number }).certExpiresIn;
  if (fail === undefined && degrade === undefined) return undefined;
  if (!outcome.tls) return undefined;
  return certificateCheck(outcome.tls, { fail, degrade }, now);
}

const NO_CHECKS: readonly CheckResult[] = Object.freeze([]);

/** Phase limits, for the kinds whose probes have them (`expect.phases`, `degradeWhen.phases`). */
function checkPhases(spec: ProbeSpec, phases: Phases): readonly CheckResult[] {
  const fail = (spec.expect as { phases?: Partial<Record<PhaseName, number>> }).phases;
  const degrade = (spec.degradeWhen as { phases?: Partial<Record<PhaseName, number>> }).phases;
  if (fail === undefined && degrade === undefined) return NO_CHECKS;
  return limitChecks(PHASE_NAMES.map((phase) => checkLimit(`phase ${phase}`, phases[phase], { fail: fail?.[phase], degrade: degrade?.[phase] }, 'duration')));
}

function emptyDetail<K extends ProbeKind>(spec: ProbeSpec<K>): ProberOutcome['detail'] {
  return kindOf(spec.kind as K).emptyDetail(spec);
}

/** What a probe points at, for humans (status API, `flowprobe probe`). */
export function targetOf<K extends ProbeKind>(spec: ProbeSpec<K>): string {
  return kindOf(spec.kind as K).target(spec);
}

/** A run's failure or degradation in words; undefined for a good run. */
export function headlineOf(result: ProbeResult): string | undefined {
  if (!result.ok) return result.failure.message;
  return result.verdict === 'degraded' ? result.degradation : undefined;
}
