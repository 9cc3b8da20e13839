import assert from 'node:assert/strict';
import { test } from 'node:test';
import { check, failureFromChecks } from './checks.js';

test('a run fails with its most specific failed check: its own code, then a named cause, then the first', () => {
  const slow = check('duration', false, '<= 1s', '2.5s');
  const depth = { ...check('json $.queue.depth', false, '< 100', '183'), headline: '$.queue.depth 183, expected < 100' };
  const status = { ...check('status', false, '200', '503'), code: 'http_status' as const };
  const fine = check('body contains', true, 'contains "ok"', 'found');

  assert.equal(failureFromChecks([fine]), undefined);
  assert.deepEqual(failureFromChecks([fine, slow]), { code: 'assertion', message: 'duration: expected <= 1s, observed 2.5s' });
  // A headline names the cause better than a figure that went over.
  assert.deepEqual(failureFromChecks([slow, depth]), { code: 'assertion', message: '$.queue.depth 183, expected < 100 (+1 more failed check)' });
  // After a 503 nothing else means much: the status leads, with its own code.
  assert.deepEqual(failureFromChecks([slow, depth, status]), { code: 'http_status', message: 'status: expected 200, observed 503 (+2 more failed checks)' });
  // Among equals, the first.
  const other = { ...check('json $.ok', false, 'true', 'false'), headline: '$.ok false, expected true' };
  assert.equal(failureFromChecks([depth, other])?.message, '$.queue.depth 183, expected < 100 (+1 more failed check)');
});
