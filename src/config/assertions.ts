// Assertions on a value a probe selected (a JSON path's values): the equality shorthand
// (`"$.status": ok`) or operators — eq, ne, gt, gte, lt, lte, in, matches, exists, length,
// contains — compiled at load (operands type-checked against their operator, regexes compiled
// for RE2), evaluated without re-parsing anything. Numbers compare as numbers; a string is never
// silently a number: `gt: "5"` is refused at load, and a "5" selected at run time fails `gt`
// saying it is a string.
import { z } from 'zod';
import { JsonPath, Pattern } from './fields.js';

export type JsonScalar = string | number | boolean | null;

/** Renders a templated operand ("{{run.id}}") for this run; identity where nothing is templated. */
export type Render = (value: JsonScalar) => JsonScalar;
const asIs: Render = (value) => value;

interface Operators {
  eq?: JsonScalar;
  ne?: JsonScalar;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  in?: JsonScalar[];
  matches?: Pattern;
  exists?: boolean;
  length?: { min?: number | undefined; max?: number | undefined };
  contains?: JsonScalar;
}

/** The ordering operators, in the order a value is checked against them. */
const ORDERED: ReadonlyArray<['gt' | 'gte' | 'lt' | 'lte', (a: number, b: number) => boolean]> = [
  ['gt', (a, b) => a > b],
  ['gte', (a, b) => a >= b],
  ['lt', (a, b) => a < b],
  ['lte', (a, b) => a <= b],
];

export class Assertion {
  /** Whether any operator besides `exists` looks at the values. */
  private readonly valued: boolean;

  private constructor(private readonly ops: Operators) {
    this.valued = Object.keys(ops).some((op) => op !== 'exists');
  }

  /** The equality shorthand's operand (or `eq`'s): the value a flow's marker is. */
  get equals(): JsonScalar | undefined {
    return this.ops.eq;
  }

  /** Whether the selected values satisfy every operator: `exists` looks at whether any value
   * was selected; the others hold when one selected value satisfies all of them. */
  holds(values: readonly unknown[], render: Render = asIs): boolean {
    const { exists } = this.ops;
    if (exists !== undefined && exists !== values.length > 0) return false;
    if (!this.valued) return true;
    for (const value of values) if (this.problem(value, render) === undefined) return true;
    return false;
  }

  /** What is wrong with one value, in words (undefined when it satisfies every operator). */
  problem(value: unknown, render: Render = asIs): string | undefined {
    const o = this.ops;
    if (o.eq !== undefined && value !== render(o.eq)) return 'not equal';
    if (o.ne !== undefined && value === render(o.ne)) return 'equal';
    for (const [op, compare] of ORDERED) {
      const operand = o[op];
      if (operand === undefined) continue;
      if (typeof value !== 'number' || Number.isNaN(value)) return `${kindOf(value)}, not a number`;
      if (!compare(value, operand)) return 'out of range';
    }
    if (o.in !== undefined && !o.in.some((candidate) => render(candidate) === value)) return 'not among them';
    if (o.matches !== undefined) {
      if (typeof value !== 'string') return `${kindOf(value)}, not a string`;
      if (!o.matches.test(value)) return 'no match';
    }
    if (o.contains !== undefined) {
      const wanted = render(o.contains);
      if (typeof value === 'string') {
        if (typeof wanted !== 'string' || !value.includes(wanted)) return 'not contained';
      } else if (Array.isArray(value)) {
        if (!value.some((item) => item === wanted)) return 'not contained';
      } else return `${kindOf(value)}, not a string or an array`;
    }
    if (o.length !== undefined) {
      if (typeof value !== 'string' && !Array.isArray(value)) return `${kindOf(value)}, has no length`;
      const { min, max } = o.length;
      if ((min !== undefined && value.length < min) || (max !== undefined && value.length > max)) return `length ${value.length}`;
    }
    return undefined;
  }

  /** "== ok", "< 100", ">= 1 and <= 5", "matches /^ok/", "exists", "length 1..10". */
  describe(render: Render = asIs): string {
    const o = this.ops;
    const parts: string[] = [];
    const show = (v: JsonScalar) => JSON.stringify(render(v));
    if (o.eq !== undefined) parts.push(`== ${show(o.eq)}`);
    if (o.ne !== undefined) parts.push(`!= ${show(o.ne)}`);
    if (o.gt !== undefined) parts.push(`> ${o.gt}`);
    if (o.gte !== undefined) parts.push(`>= ${o.gte}`);
    if (o.lt !== undefined) parts.push(`< ${o.lt}`);
    if (o.lte !== undefined) parts.push(`<= ${o.lte}`);
    if (o.in !== undefined) parts.push(`in [${o.in.map(show).join(', ')}]`);
    if (o.matches !== undefined) parts.push(`matches /${o.matches.source}/`);
    if (o.contains !== undefined) parts.push(`contains ${show(o.contains)}`);
    if (o.length !== undefined) parts.push(`length ${o.length.min ?? 0}..${o.length.max ?? '∞'}`);
    if (o.exists !== undefined) parts.push(o.exists ? 'exists' : 'absent');
    return parts.join(' and ');
  }

  /** What was selected, as the observed side of a check: the first few values, each with its
   * type when that is why it failed ("\"5\" (a string, not a number)"). */
  observed(values: readonly unknown[], render: Render = asIs): string {
    if (values.length === 0) return 'no match';
    return values
      .slice(0, 3)
      .map((value) => {
        const shown = JSON.stringify(value) ?? String(value);
        const why = this.problem(value, render);
        return why?.includes(', not ') || why?.includes('has no length') ? `${shown} (${why})` : shown;
      })
      .join(', ');
  }

  toJSON(): Operators {
    return this.ops;
  }

  static equality(value: JsonScalar): Assertion {
    return new Assertion({ eq: value });
  }

  static of(ops: Operators): Assertion {
    return new Assertion(Object.fromEntries(Object.entries(ops).filter(([, v]) => v !== undefined)) as Operators);
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  if (value === undefined) return 'nothing';
  return 'an object';
}

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'expected a string, number, boolean or null to compare with' });
const STRING_NOT_NUMBER = 'expected a number (a string never compares as a number: write 5, not "5")';
const number = z.number({ error: STRING_NOT_NUMBER }).refine(Number.isFinite, { error: 'expected a finite number' });

const operators = z
  .strictObject({
    eq: scalar.optional(),
    ne: scalar.optional(),
    gt: number.optional(),
    gte: number.optional(),
    lt: number.optional(),
    lte: number.optional(),
    in: z.array(scalar).min(1).max(100).optional(),
    matches: z.string().max(1_000).optional(),
    exists: z.boolean().optional(),
    length: z.strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }).optional(),
    contains: scalar.optional(),
  })
  .superRefine((o, ctx) => {
    const set = Object.entries(o).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (set.length === 0) ctx.addIssue({ code: 'custom', message: 'expected at least one operator: eq, ne, gt, gte, lt, lte, in, matches, exists, length, contains' });
    if (o.exists === false && set.length > 1) ctx.addIssue({ code: 'custom', message: 'expected exists: false alone (a value that must be absent has nothing else to check)', path: ['exists'] });
    if (o.length && o.length.min !== undefined && o.length.max !== undefined && o.length.min > o.length.max) ctx.addIssue({ code: 'custom', message: 'expected length.min <= length.max', path: ['length'] });
    const low = o.gt ?? o.gte;
    const high = o.lt ?? o.lte;
    if (low !== undefined && high !== undefined && low > high) ctx.addIssue({ code: 'custom', message: `expected a range some number is in, found > ${low} and < ${high}` });
  })
  .transform((o, ctx) => {
    // Compiled once, here: what RE2 cannot run is refused where it is written.
    const matches = o.matches === undefined ? undefined : Pattern.compile(o.matches);
    if (typeof matches === 'string') {
      ctx.addIssue({ code: 'custom', message: matches, path: ['matches'], input: o.matches });
      return z.NEVER;
    }
    return Assertion.of({ ...o, matches });
  });

/** One expectation's value: the equality shorthand, or operators. Dispatched by hand, not a
 * union, so an operator object's own problem ("lt: expected a number", "below: unknown key") is
 * what check reports, not "expected one of…". */
export const assertion = z
  .unknown()
  .transform((value, ctx): Assertion => {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return Assertion.equality(value);
    if (typeof value === 'number') {
      if (Number.isFinite(value)) return Assertion.equality(value);
      ctx.addIssue({ code: 'custom', message: 'expected a finite number' });
      return z.NEVER;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'expected a value to equal (string, number, boolean, null) or operators like { lt: 100 }' });
      return z.NEVER;
    }
    const parsed = operators.safeParse(value);
    if (parsed.success) return parsed.data;
    // An unknown operator is the problem to name (the rest follows from it).
    const unknown = parsed.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
    for (const issue of unknown.length > 0 ? unknown : parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  })
  .meta({ description: 'A value to equal (string, number, boolean, null), or operators: { eq, ne, gt, gte, lt, lte, in, matches, exists, length: { min, max }, contains }' });

/** An expectation on a response header's text: a string is what it must contain (as before),
 * or text operators (eq, ne, in, matches, contains, length, exists). Header values are text:
 * an ordering operator is refused (a string never compares as a number). */
export const headerAssertion = z
  .unknown()
  .transform((value, ctx): Assertion => {
    if (typeof value === 'string') {
      if (value.length > 8_192) ctx.addIssue({ code: 'custom', message: 'expected a header value of at most 8192 characters' });
      return Assertion.of({ contains: value });
    }
    const compiled = assertion.safeParse(value);
    if (!compiled.success) {
      for (const issue of compiled.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
      return z.NEVER;
    }
    const ordering = (['gt', 'gte', 'lt', 'lte'] as const).filter((op) => (value as Record<string, unknown>)[op] !== undefined);
    if (ordering.length > 0 || typeof value !== 'object') {
      ctx.addIssue({ code: 'custom', message: 'expected text operators for a header (eq, ne, in, matches, contains, length, exists): its value is text, and a string never compares as a number', path: ordering.slice(0, 1) });
      return z.NEVER;
    }
    return compiled.data;
  })
  .meta({ description: 'Text the header must contain, or text operators: { eq, ne, in, matches, contains, length: { min, max }, exists }' });

/** Expectations on a JSON document: path → a value to equal, or operators. */
export interface JsonExpectation {
  path: JsonPath;
  assertion: Assertion;
}

export const jsonExpectations = z
  .record(z.string().max(500), assertion)
  .superRefine((record, ctx) => {
    for (const key of Object.keys(record)) {
      const compiled = JsonPath.compile(key);
      if (typeof compiled === 'string') ctx.addIssue({ code: 'custom', message: compiled, path: [key], params: { atKey: true } });
    }
  })
  .transform((record): JsonExpectation[] => Object.entries(record).map(([path, assertion]) => ({ path: JsonPath.compile(path) as JsonPath, assertion })));
