// Reading a text/event-stream, the same way for the SSE prober and the flow's SSE watchers:
// what makes a response a usable stream (status, content type — case-insensitive, as media
// types are), and the reading loop (strict UTF-8, every event or line capped in size).
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { checkStatus } from './checks.js';
import type { Failure } from './types.js';

/** Why a response is not a usable event stream, if it is not. */
export function streamRefusal(res: Dispatcher.ResponseData, expectedStatus: readonly string[]): Failure | undefined {
  if (res.statusCode === 204) return { code: 'http_status', message: '204 No Content: the server told clients to stop reconnecting' };
  const status = checkStatus(res.statusCode, expectedStatus);
  if (!status.ok) return { code: 'http_status', message: `status: expected ${status.expected}, observed ${status.observed}` };
  const type = String(res.headers['content-type'] ?? '');
  if (!type.toLowerCase().startsWith('text/event-stream')) return { code: 'protocol', message: `content type: expected text/event-stream, observed ${JSON.stringify(type || '(none)')}` };
  return undefined;
}

/** What a reader saw of the raw stream, for a headline when no event completed. */
export interface StreamBytes {
  /** Bytes of body received. */
  bytes: number;
  /** Characters after the last line end: a line (an event) that never terminated. */
  unterminated: number;
  /** Lines that start an event's fields (data:, event:, id:) before the first event completed:
   * none means the stream only sent comments or a retry: hint — silence, not broken framing. */
  fieldLines: number;
}

const FIELD_LINE = /(?:^|[\r\n])(?:data|event|id)(?::|[\r\n]|$)/g;

export interface StreamHandlers {
  onEvent(message: EventSourceMessage): void;
  onComment?(): void;
  onRetry?(ms: number): void;
  /** The stream cannot be read on: the reading loop returns after this. */
  onBroken(failure: Failure): void;
}

/** Feeds `body` to the parser until it ends; stops at invalid UTF-8 or an oversized event. */
export async function readEventStream(body: Dispatcher.ResponseData['body'], maxEventSize: number, handlers: StreamHandlers, seen: StreamBytes = { bytes: 0, unterminated: 0, fieldLines: 0 }): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let broken = false;
  let evented = false;
  const parser = createParser({
    maxBufferSize: maxEventSize,
    onEvent: (message) => ((evented = true), handlers.onEvent(message)),
    onComment: () => handlers.onComment?.(),
    onRetry: (ms) => handlers.onRetry?.(ms),
    onError: (error: ParseError) => {
      if (error.type !== 'max-buffer-size-exceeded' || broken) return;
      broken = true;
      handlers.onBroken({ code: 'protocol', message: `an event or line exceeded maxEventSize (${maxEventSize} bytes)` });
    },
  });
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (broken) return;
    seen.bytes += chunk.length;
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      return handlers.onBroken({ code: 'protocol', message: 'stream is not valid UTF-8' });
    }
    const lineEnd = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
    seen.unterminated = lineEnd < 0 ? seen.unterminated + text.length : text.length - lineEnd - 1;
    // Only until the first event: after that the headline never needs it, and a firehose pays nothing.
    if (!evented) seen.fieldLines += text.match(FIELD_LINE)?.length ?? 0;
    parser.feed(text);
  }
}
