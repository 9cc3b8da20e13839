// A receiver only delivers: it says whether it worked and, if not, whether a retry may help
// (2xx ok; 429, 5xx and network errors retry, honouring Retry-After; other 4xx do not).
import { request } from 'undici';
import { classifyCause } from '../../probers/classify-error.js';
import type { ReceiverConfig } from '../../config/schema.js';
import type { Notification } from '../alert.js';

export type Delivery =
  | { ok: true }
  | {
      ok: false;
      retry: boolean;
      /** From Retry-After, when the receiver said when to come back. */
      retryAfterMs: number | undefined;
      /** Low-cardinality, for metrics: http_429, http_5xx, http_4xx, network, timeout, smtp_4xx, smtp_5xx. */
      reason: string;
      message: string;
    };

export interface Receiver {
  name: string;
  kind: ReceiverConfig['kind'];
  send(notification: Notification, signal: AbortSignal): Promise<Delivery>;
  close?(): void;
}

/** POSTs JSON and classifies the answer. The body of an error answer is kept short. */
export async function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<Delivery> {
  try {
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal });
    // What is kept of an answer is all that is read: a 50 MB error page costs 200 bytes.
    const text = await firstBytes(res.body, KEPT_BYTES);
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
    if (res.statusCode === 429) return { ok: false, retry: true, retryAfterMs, reason: 'http_429', message: `429 Too Many Requests ${text}`.trim() };
    if (res.statusCode >= 500) return { ok: false, retry: true, retryAfterMs, reason: 'http_5xx', message: `${res.statusCode} ${text}`.trim() };
    return { ok: false, retry: false, retryAfterMs: undefined, reason: 'http_4xx', message: `${res.statusCode} ${text}`.trim() };
  } catch (error) {
    return networkFailure(error, signal);
  }
}

/** What is read of an error answer. The sender removes secrets from it, then keeps 200
 * characters: a cut before the redaction could leave part of a secret behind. */
const KEPT_BYTES = 2_048;

/** The first `limit` bytes of a body as text; the rest is not read (the stream is destroyed). */
async function firstBytes(body: AsyncIterable<Buffer> & { destroy(): unknown }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // What arrived is what we report.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

export function networkFailure(error: unknown, signal: AbortSignal): Delivery {
  if (signal.aborted) return { ok: false, retry: true, retryAfterMs: undefined, reason: 'timeout', message: 'no answer within the delivery timeout' };
  const failure = classifyCause(error, 'exchange');
  return { ok: false, retry: true, retryAfterMs: undefined, reason: 'network', message: `${failure.code}: ${failure.message}` };
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

