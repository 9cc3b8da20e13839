// Every operator against edge values: a missing path, null, arrays, NaN, huge numbers, unicode,
// strings that look like numbers — compiled through the real schema, as a config file would be.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JSONPath } from 'jsonpath-plus';
import { assertion, type Assertion } from './assertions.js';
import { JsonPath } from './fields.js';

const compile = (raw: unknown): Assertion => assertion.parse(raw);
const problems = (raw: unknown): string[] => {
  const r = assertion.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('assertions: operators against edge values', () => {
  // [assertion, selected values, holds]
  const table: Array<[unknown, unknown[], boolean]> = [
    ['ok', ['ok'], true],
    ['ok', ['OK'], false],
    ['ok', [], false],
    [5, ['5'], false], // never a string for a number
    [null, [null], true],
    [null, [], false],
    [true, [1], false],
    [{ eq: 'ü✓' }, ['ü✓'], true],
    [{ ne: 'down' }, ['up'], true],
    [{ ne: 'down' }, ['down'], false],
    [{ lt: 100 }, [99.999], true],
    [{ lt: 100 }, [100], false],
    [{ lte: 100 }, [100], true],
    [{ gt: 0 }, [Number.MAX_VALUE], true],
    [{ gt: 1e308 }, [1.7976931348623157e308], true],
    [{ gt: 0 }, [NaN], false],
    [{ gt: 0 }, ['10'], false],
    [{ gt: 0 }, [null], false],
    [{ gte: 1, lte: 5 }, [0, 3], true], // any selected value
    [{ gte: 1, lte: 5 }, [0, 6], false],
    [{ in: ['ok', 'degraded'] }, ['degraded'], true],
    [{ in: [1, 2] }, ['1'], false],
    [{ matches: '^v\\d+\\.\\d+' }, ['v1.22'], true],
    [{ matches: '^v\\d+' }, [1], false],
    [{ matches: 'é' }, ['café'], true],
    [{ exists: true }, [null], true],
    [{ exists: true }, [], false],
    [{ exists: false }, [], true],
    [{ exists: false }, [0], false],
    [{ length: { min: 1, max: 3 } }, [[1, 2]], true],
    [{ length: { min: 1 } }, [[]], false],
    [{ length: { max: 2 } }, ['ü✓x'], false],
    [{ length: { min: 1 } }, [5], false],
    [{ contains: 'eu' }, [['eu', 'us']], true],
    [{ contains: 'eu' }, ['europe'], true],
    [{ contains: 1 }, [['1']], false],
    [{ contains: 'x' }, [{ x: 1 }], false],
  ];
  for (const [raw, values, holds] of table) {
    it(`${JSON.stringify(raw)} on ${JSON.stringify(values)} ${holds ? 'holds' : 'does not hold'}`, () => {
      assert.equal(compile(raw).holds(values), holds);
    });
  }

  it('says what is wrong with a value beside it: a string where a number belongs, nothing selected', () => {
    assert.equal(compile({ gt: 0.5 }).observed(['0.9']), '"0.9" (a string, not a number)');
    assert.equal(compile({ lt: 100 }).observed([183]), '183');
    assert.equal(compile({ lt: 100 }).observed([]), 'no match');
    assert.equal(compile({ gte: 1, lte: 5 }).describe(), '>= 1 and <= 5');
    assert.equal(compile({ matches: '^ok' }).describe(), 'matches /^ok/');
    assert.equal(compile('ok').describe(), '== "ok"');
  });

  it('renders templated operands for the run', () => {
    const a = compile({ in: ['{{run.id}}', 'other'] });
    assert.equal(a.holds(['abc'], (v) => (v === '{{run.id}}' ? 'abc' : v)), true);
    assert.equal(a.holds(['abc']), false);
  });

  it('refuses at load what could never be right, naming the operator', () => {
    assert.deepEqual(problems({ gt: '5' }), ['gt: expected a number (a string never compares as a number: write 5, not "5")']);
    assert.deepEqual(problems({}), [': expected at least one operator: eq, ne, gt, gte, lt, lte, in, matches, exists, length, contains']);
    assert.deepEqual(problems({ exists: false, eq: 1 }), ['exists: expected exists: false alone (a value that must be absent has nothing else to check)']);
    assert.deepEqual(problems({ gt: 10, lt: 5 }), [': expected a range some number is in, found > 10 and < 5']);
    assert.deepEqual(problems({ length: { min: 3, max: 1 } }), ['length: expected length.min <= length.max']);
    assert.match(problems({ matches: '(a)\\1' })[0] ?? '', /^matches: expected a regular expression RE2 can run/);
    assert.deepEqual(problems([1, 2]), [': expected a value to equal (string, number, boolean, null) or operators like { lt: 100 }']);
    assert.equal(problems({ below: 1 }).length, 1);
  });
});

describe('JSON paths of names and indices', () => {
  it('select what jsonpath-plus selects, walked without its evaluator', () => {
    const documents: unknown[] = [
      { status: 'ok', items: [{ id: 1 }, { id: null }], s: 'abc', n: 0, f: false, e: '', nested: { a: { b: [10, 20] } }, 'a-b': 1, length: 3 },
      [{ status: 'first' }, 'x', 0, null],
      { status: null, items: [], s: '', nested: null },
      { items: { 0: 'object with key 0' }, nested: { a: 'not an object' } },
    ];
    const paths = ['$.status', '$.items', '$.items[0].id', '$.items[1].id', '$.items[2]', '$.s[0]', '$.s.length', '$.items.length', '$.n.x', '$.f.x', '$.e.length', '$.nested.a.b[1]', '$.nested.a.b.0', '$.a-b', '$.length', '$[0].status', '$[1]', '$[3]', '$.toString', '$.constructor'];
    for (const source of paths) {
      const path = JsonPath.compile(source);
      assert.ok(typeof path !== 'string', `${source}: ${String(path)}`);
      for (const document of documents) {
        const theirs = JSONPath({ path: source, json: document as object, wrap: true, eval: 'safe' }) as unknown[];
        assert.deepEqual(path.select(document), theirs, `${source} in ${JSON.stringify(document)}`);
      }
    }
  });
});
