// The many connections of one run: started in batches, all concurrent, each on its own signal.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachConnection, START_BATCH } from './connections.js';

it('starts connections a batch at a time, letting the event loop run in between', async () => {
  let started = 0;
  let startedWhenTheLoopRan: number | undefined;
  setImmediate(() => (startedWhenTheLoopRan = started));
  const results = await eachConnection(4 * START_BATCH, new AbortController().signal, async (i) => {
    started++;
    return i;
  });
  assert.equal(startedWhenTheLoopRan, START_BATCH, 'the loop ran after the first batch');
  assert.deepEqual(results, Array.from({ length: 4 * START_BATCH }, (_, i) => i), 'every result, in order');
});

it('keeps every connection running at once, not one batch after another', { timeout: 5000 }, async () => {
  // Each connection waits until all of them are in flight: started batch after batch, they
  // would wait forever (and the test time out).
  const total = 3 * START_BATCH;
  let inFlight = 0;
  const everyoneIn = new AbortController();
  await eachConnection(total, new AbortController().signal, async () => {
    if (++inFlight === total) everyoneIn.abort();
    if (!everyoneIn.signal.aborted) await new Promise((resolve) => everyoneIn.signal.addEventListener('abort', resolve));
  });
  assert.equal(inFlight, total);
});

it('gives each connection its own signal, aborted with the run', async () => {
  const total = 2 * START_BATCH;
  const run = new AbortController();
  const signals: AbortSignal[] = [];
  const reasons = await eachConnection(total, run.signal, (_, signal) => {
    signals.push(signal);
    const aborted = new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve(String(signal.reason))));
    if (signals.length === total) run.abort('deadline');
    return aborted;
  });
  assert.deepEqual(new Set(reasons), new Set(['deadline']));
  assert.equal(new Set(signals).size, total);
  assert.ok(!signals.includes(run.signal));
});

it('reports an early failure through the result, never as an unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await assert.rejects(
      eachConnection(3 * START_BATCH, new AbortController().signal, async (i) => {
        if (i === 0) throw new Error('first connection failed');
        return i;
      }),
      /first connection failed/,
    );
    // Node reports unhandled rejections once the microtask queue drains: one turn is enough.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
