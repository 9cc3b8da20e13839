// Expectations → one CheckResult each, pass or fail, so a human sees every check that ran.
import type { JsonExpectation } from '../config/assertions.js';
import type { Pattern } from '../config/fields.js';
import { formatDuration } from '../config/units.js';
import type { CheckResult, Failure } from './types.js';

export function check(name: string, ok: boolean, expected: string, observed: string): CheckResult {
  return { name, ok, expected, observed };
}

/** `expected` entries are "200" or "2xx". */
export function checkStatus(status: number, expected: readonly string[]): CheckResult {
  const ok = expected.some((want) => (want.endsWith('xx') ? Math.floor(status / 100) === Number(want[0]) : Number(want) === status));
  return { ...check('status', ok, expected.join(' or '), String(status)), code: 'http_status' };
}

/** A figure's fail limit (`expect`) and degrade limit (`degradeWhen`); either may be absent. */
export interface Limits {
  fail: number | undefined;
  degrade: number | undefined;
}

/** A figure against its limits: ❌ over the fail limit, ⚠️ over the degrade limit, ✅ within
 * both; undefined when it has neither. A figure that was never measured fails a fail limit
 * ("none") and cannot judge a degrade limit. */
export function checkLimit(name: string, observed: number | undefined, limits: Limits, unit: 'duration' | 'count'): CheckResult | undefined {
  const { fail, degrade } = limits;
  if (fail === undefined && degrade === undefined) return undefined;
  const show = (v: number) => (unit === 'duration' ? formatDuration(v) : String(v));
  const expected = fail === undefined ? `<= ${show(degrade as number)} (else degraded)` : degrade === undefined || degrade >= fail ? `<= ${show(fail)}` : `<= ${show(degrade)} (degraded above, failed above ${show(fail)})`;
  if (observed === undefined) return fail === undefined ? undefined : check(name, false, expected, 'none');
  const ok = fail === undefined || observed <= fail;
  const result = check(name, ok, expected, show(observed));
  return ok && degrade !== undefined && observed > degrade ? { ...result, degraded: true } : result;
}

/** The checks of the figures that have a limit (checkLimit gives undefined for the others). */
export function limitChecks(entries: ReadonlyArray<CheckResult | undefined>): CheckResult[] {
  return entries.filter((c): c is CheckResult => c !== undefined);
}

/** The headline of a degraded run: its first degraded check, observed vs limit. */
export function degradationOf(checks: readonly CheckResult[]): string | undefined {
  const degraded = checks.filter((c) => c.ok && c.degraded);
  const first = degraded[0];
  if (!first) return undefined;
  const more = degraded.length > 1 ? ` (+${degraded.length - 1} more degraded)` : '';
  return `${first.name} ${first.observed}, over its degrade limit: expected ${first.expected}${more}`;
}

export function checkContains(name: string, text: string, wanted: string): CheckResult {
  return check(name, text.includes(wanted), `contains ${JSON.stringify(wanted)}`, text.includes(wanted) ? 'found' : excerpt(text));
}

export function checkMatches(name: string, text: string, pattern: Pattern): CheckResult {
  const matched = pattern.test(text);
  return check(name, matched, `matches /${pattern.source}/`, matched ? 'matched' : excerpt(text));
}

/** Passes when a value the path selects satisfies the assertion (so `$.items[*].id` finds one
 * item); its headline puts the observed value beside the expected: `$.queue.depth 183, expected < 100`. */
export function checkJsonPath(document: unknown, expectation: JsonExpectation): CheckResult {
  const { path, assertion } = expectation;
  const values = path.select(document);
  const ok = assertion.holds(values);
  const expected = assertion.describe();
  const observed = assertion.observed(values);
  return { ...check(`json ${path.source}`, ok, expected, observed), ...(ok ? {} : { headline: `${path.source} ${observed}, expected ${expected}` }) };
}

/** The failure a run gets from its checks, if any failed: its most specific failed check names
 * it, with the code it was built with. Most specific: a check with a code of its own (the HTTP
 * status: nothing after a 503 means much), then one that names its cause in words (a headline:
 * "$.queue.depth 183, expected < 100", "ids 7–9 missing"), then the first that failed. Every
 * prober's failure from checks is this one. */
export function failureFromChecks(checks: readonly CheckResult[]): Failure | undefined {
  const specificity = (c: CheckResult) => (c.code !== undefined && c.code !== 'assertion' ? 2 : c.headline !== undefined ? 1 : 0);
  let failed: CheckResult | undefined;
  for (const c of checks) if (!c.ok && (failed === undefined || specificity(c) > specificity(failed))) failed = c;
  if (!failed) return undefined;
  const others = checks.filter((c) => !c.ok).length - 1;
  const more = others > 0 ? ` (+${others} more failed check${others > 1 ? 's' : ''})` : '';
  return { code: failed.code ?? 'assertion', message: `${failed.headline ?? `${failed.name}: expected ${failed.expected}, observed ${failed.observed}`}${more}` };
}

/** The text as observed, whitespace collapsed. Never cut here: run-probe removes secrets first
 * and shortens after, so no part of a secret can survive a cut. */
function excerpt(text: string): string {
  return JSON.stringify(text.replace(/\s+/g, ' ').trim());
}

/** Shortens what a human reads (check values, failure messages) once secrets are removed. */
export function shorten(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
