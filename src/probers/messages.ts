// Messages as probes write and read them: templates with {{run.id}}, {{seq}} and
// {{capture.NAME}}, and matchers (text, regex, JSON paths) that pick the message a step waits for.
import { performance } from 'node:perf_hooks';
import type { JsonScalar } from '../config/assertions.js';
import type { JsonPath } from '../config/fields.js';
import type { MessageMatcher, MessageTemplate } from '../config/probe-fields.js';
import { formatDuration } from '../config/units.js';
import { classifyError } from './classify-error.js';
import type { Failure } from './types.js';

export type Captured = string | number | boolean | null;

export interface Vars {
  runId: string;
  seq?: number;
  /** Values captured from earlier responses: {{capture.NAME}}. */
  captures?: Readonly<Record<string, Captured>>;
}

/** Renders a message template: {{run.id}} and {{seq}} in strings; a string that is exactly
 * "{{seq}}" becomes the number. */
export function render(template: MessageTemplate, vars: Vars): string {
  if ('text' in template) return substitute(template.text, vars);
  return JSON.stringify(renderValue(template.json, vars));
}

export function renderValue(value: unknown, vars: Vars): unknown {
  if (typeof value === 'string') return exactValue(value, vars) ?? substitute(value, vars);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, vars));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, vars)]));
  return value;
}

/** A string that is exactly "{{seq}}" or "{{capture.X}}" stands for the value itself, typed. */
function exactValue(text: string, vars: Vars): Captured | undefined {
  if (text === '{{seq}}') return vars.seq;
  const capture = /^\{\{\s*capture\.([A-Za-z0-9_]+)\s*\}\}$/.exec(text);
  return capture ? vars.captures?.[capture[1] as string] : undefined;
}

export function substitute(text: string, vars: Vars): string {
  return text.replace(/\{\{\s*(run\.id|seq|capture\.[A-Za-z0-9_]+)\s*\}\}/g, (whole, name: string) => {
    if (name === 'run.id') return vars.runId;
    if (name === 'seq') return vars.seq === undefined ? whole : String(vars.seq);
    const captured = vars.captures?.[name.slice('capture.'.length)];
    return captured === undefined ? whole : String(captured);
  });
}

export function matches(message: string, matcher: MessageMatcher, vars: Vars): boolean {
  if (matcher.text !== undefined && !message.includes(substitute(matcher.text, vars))) return false;
  if (matcher.regex !== undefined && !matcher.regex.test(message)) return false;
  if (matcher.json !== undefined) {
    const document = parseJson(message);
    for (const { path, assertion } of matcher.json) {
      if (!assertion.holds(path.select(document), (v) => renderValue(v, vars) as JsonScalar)) return false;
    }
  }
  return true;
}

export function describeMatcher(matcher: MessageMatcher): string {
  const parts = [
    matcher.text !== undefined ? `text contains ${JSON.stringify(matcher.text)}` : '',
    matcher.regex ? `matches /${matcher.regex.source}/` : '',
    ...(matcher.json ?? []).map(({ path, assertion }) => `${path.source} ${assertion.describe()}`),
  ].filter(Boolean);
  return parts.length ? `a message where ${parts.join(' and ')}` : 'any message';
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}


export interface Received {
  text: string;
  /** performance.now() at arrival. */
  at: number;
}

/** Messages from one stream or socket, read one matching message at a time: unrelated ones
 * are skipped; a broken source or the run's signal ends every wait with a failure. */
export class Inbox {
  /** Unread messages from `head` on: a shift() per message was quadratic in a 100,000-message burst. */
  private queue: Received[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private broken: Failure | undefined;
  received = 0;

  constructor(private readonly limit = 10_000) {}

  push(text: string): void {
    this.received++;
    this.queue.push({ text, at: performance.now() });
    // Past the limit the oldest unread go (a source nobody reads from must not grow the run).
    if (this.queue.length - this.head > this.limit) this.head = this.queue.length - this.limit;
    this.reclaim();
    this.poke();
  }

  private take(): Received | undefined {
    if (this.head >= this.queue.length) return undefined;
    const next = this.queue[this.head++];
    this.reclaim();
    return next;
  }

  /** Drops what was read (or skipped) once it is most of the array: amortised O(1) a message. */
  private reclaim(): void {
    if (this.head > 1_024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** The source broke (closed, errored): waits end with this failure. First one wins. */
  fail(failure: Failure): void {
    this.broken ??= failure;
    this.poke();
  }

  poke(): void {
    this.wake?.();
  }

  failure(signal: AbortSignal): Failure | undefined {
    if (signal.aborted) return classifyError(signal.reason, signal, 'exchange');
    return this.broken;
  }

  /** Consumes messages until one passes `test`; a timeout failure names `what`. */
  async until(test: (text: string) => boolean, withinMs: number, signal: AbortSignal, what: string): Promise<Received | Failure> {
    const deadline = performance.now() + withinMs;
    for (;;) {
      for (let next = this.take(); next; next = this.take()) if (test(next.text)) return next;
      const gone = this.failure(signal);
      if (gone) return gone;
      const left = deadline - performance.now();
      if (left <= 0) return { code: 'timeout', message: `${what}: nothing matched within ${formatDuration(withinMs)}` };
      await this.nextEvent(left, signal);
    }
  }

  /** Resolves on the next message, failure, poke, abort, or after `ms`. */
  nextEvent(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}

export function isFailure(value: Received | Failure): value is Failure {
  return 'code' in value;
}

/** Waits `ms`, or less if `signal` fires. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** When a message says it was sent: epoch ms, or an ISO date, at `path` in its JSON (an SSE
 * event's data, an MQTT payload); undefined when it does not say. */
export function sentAt(data: string, path: JsonPath): number | undefined {
  let document: unknown;
  try {
    document = JSON.parse(data);
  } catch {
    return undefined;
  }
  const value = path.select(document)[0];
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}
