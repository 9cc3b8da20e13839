// The many connections of one run (SSE fan-out subscribers, WebSocket load):
// - started a batch at a time: 500 connections opened in one synchronous burst blocked the
//   event loop for tens of milliseconds, starting every other probe late and stretching what
//   they measured (bench:scale, all dimensions at once); they still all run concurrently;
// - each on its own child signal: every wait adds and removes an abort listener, and on one
//   shared signal with 10,000 connections that is a linear scan per removal (measured:
//   event-loop delay p99 of seconds). One listener on the run's signal feeds them all.
const families = new WeakMap<AbortSignal, Set<AbortController>>();

/** Connections started between two turns of the event loop. */
export const START_BATCH = 25;

/** Runs `count` connections concurrently, each with its own child of `parent`, started
 * START_BATCH at a time; resolves with every connection's result, in order. */
export async function eachConnection<T>(count: number, parent: AbortSignal, connect: (index: number, signal: AbortSignal) => Promise<T>): Promise<T[]> {
  const running: Array<Promise<T>> = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % START_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const child = childSignal(parent);
    const result = connect(i, child.signal).finally(() => child.release());
    // Handled by Promise.all below; until then a failure must not count as unhandled.
    result.catch(() => undefined);
    running.push(result);
  }
  return Promise.all(running);
}

interface ChildSignal {
  signal: AbortSignal;
  /** Detach from the parent when the connection is done (O(1)). */
  release(): void;
}

function childSignal(parent: AbortSignal): ChildSignal {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, release: () => undefined };
  }
  let family = families.get(parent);
  if (!family) {
    const members = new Set<AbortController>();
    family = members;
    families.set(parent, members);
    parent.addEventListener(
      'abort',
      () => {
        for (const member of members) member.abort(parent.reason);
        members.clear();
      },
      { once: true },
    );
  }
  family.add(controller);
  const members = family;
  return { signal: controller.signal, release: () => void members.delete(controller) };
}
