// Turns what a network call threw into a stable failure code by its `code` property (undici,
// node:net, node:tls and llhttp all set one), never by matching message text.
import { redactUrlCredentials } from '../logging/redact.js';
import type { Failure, FailureCode } from './types.js';

/** Where the error happened: a reset while connecting is a connect failure, later it is `closed`. */
export type Stage = 'connect' | 'exchange';

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const CONNECT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
const CLOSED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const PROTOCOL = new Set(['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_INFO']);
const TLS_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'CERT_', 'UNABLE_TO_', 'DEPTH_ZERO_', 'SELF_SIGNED_', 'ERR_OSSL_'];

export function classifyError(error: unknown, signal: AbortSignal, stage: Stage): Failure {
  return signal.aborted ? abortFailure(signal) : classifyCause(error, stage);
}

/** The failure an error stands for, when the run was not aborted. */
export function classifyCause(error: unknown, stage: Stage): Failure {
  const code = errorCode(error);
  // llhttp parse errors do not always carry a code; their class name is stable.
  const failureCode = (error as { name?: unknown })?.name === 'HTTPParserError' ? 'protocol' : codeFor(code, stage);
  return { code: failureCode, message: describe(error, code) };
}

/** Why the run's signal fired: its deadline (`timeout`) or the daemon stopping (`inconclusive`). */
export function abortFailure(signal: AbortSignal): Failure {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  if (reason?.name === 'TimeoutError') return { code: 'timeout', message: reason.message ?? 'deadline exceeded' };
  return { code: 'inconclusive', message: 'run aborted: the daemon is stopping' };
}

function codeFor(code: string | undefined, stage: Stage): FailureCode {
  if (code === undefined) return 'internal';
  if (DNS.has(code)) return 'dns';
  if (CONNECT.has(code)) return 'connect';
  if (CLOSED.has(code)) return stage === 'connect' ? 'connect' : 'closed';
  if (TIMEOUT.has(code)) return 'timeout';
  if (PROTOCOL.has(code) || code.startsWith('HPE_')) return 'protocol';
  if (TLS_PREFIXES.some((prefix) => code.startsWith(prefix))) return 'tls';
  return 'internal';
}

function errorCode(error: unknown): string | undefined {
  // undici wraps the socket's error as `cause`; the innermost code is the informative one.
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  let found: string | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === 'string') found = current.code;
    current = current.cause as typeof current;
  }
  return found;
}

function describe(error: unknown, code: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  const text = code && !message.includes(code) ? `${code}: ${message}` : message;
  return redactUrlCredentials(text);
}
