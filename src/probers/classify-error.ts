// Turns what a network call threw into a stable failure code by its `code` property (undici,
// node:net, node:tls and llhttp all set one), never by matching message text.
import { formatDuration } from '../config/units.js';
import { redactUrlCredentials } from '../logging/redact.js';
import type { Failure, FailureCode } from './types.js';

/** Where the error happened: a reset while connecting is a connect failure, later it is `closed`. */
export type Stage = 'connect' | 'exchange';

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA_FAMILY']);
const CONNECT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
const CLOSED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const PROTOCOL = new Set(['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_INFO']);
const TLS_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'CERT_', 'UNABLE_TO_', 'DEPTH_ZERO_', 'SELF_SIGNED_', 'ERR_OSSL_'];
const CUT_OFF = new Set(['HPE_INVALID_EOF_STATE']);

// What each code means, in the words the headline starts with (the code follows in brackets).
const IN_WORDS: Record<string, string> = {
  ECONNRESET: 'connection reset by the peer',
  EPIPE: 'connection closed by the peer while sending',
  ECONNABORTED: 'connection aborted',
  UND_ERR_SOCKET: 'the server closed the connection',
  UND_ERR_CLOSED: 'the connection was closed',
  HPE_INVALID_EOF_STATE: 'the server closed the connection mid-response',
  ECONNREFUSED: 'connection refused: nothing listens there',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ETIMEDOUT: 'connect timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'DNS lookup failed for now (EAI_AGAIN)',
  EAI_FAIL: 'DNS lookup failed',
  EAI_NODATA: 'host name has no address (DNS)',
  EAI_NONAME: 'host name not found (DNS)',
  ENODATA_FAMILY: 'the host name has no address of that IP family (DNS)',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'the response body stalled',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'response larger than allowed',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'response body shorter or longer than its Content-Length',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: the server presents a self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: a self-signed certificate in the chain',
  CERT_HAS_EXPIRED: 'TLS: the certificate has expired',
  CERT_NOT_YET_VALID: 'TLS: the certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: the certificate does not match the host name',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: the certificate chain cannot be verified',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: the certificate issuer is unknown (no CA for it)',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'TLS: the server requires a client certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'TLS: the server refused the client certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'TLS: the server does not trust the client certificate\'s issuer',
};

export function classifyError(error: unknown, signal: AbortSignal, stage: Stage): Failure {
  return signal.aborted ? abortFailure(signal) : classifyCause(error, stage);
}

/** The failure an error stands for, when the run was not aborted. */
export function classifyCause(error: unknown, stage: Stage): Failure {
  const code = errorCode(error);
  // A response cut off mid-body surfaces from llhttp as an "invalid EOF state": a closed
  // connection, not a protocol error.
  if (code !== undefined && CUT_OFF.has(code)) return { code: stage === 'connect' ? 'connect' : 'closed', message: describe(error, code) };
  // llhttp parse errors do not always carry a code; their class name is stable.
  const failureCode = (error as { name?: unknown })?.name === 'HTTPParserError' ? 'protocol' : codeFor(code, stage);
  return { code: failureCode, message: describe(error, code) };
}

/** What a run's deadline aborts it with: the daemon's scheduler and `flowprobe probe` alike, so
 * a headline never carries a library's "The operation was aborted due to timeout". */
export function deadlineReason(timeoutMs: number): DOMException {
  return new DOMException(`the run's deadline of ${formatDuration(timeoutMs)} passed`, 'TimeoutError');
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

/** Plain words first, then the library's code and message for whoever digs deeper: a raw code
 * never stands alone at the start of a headline. */
function describe(error: unknown, code: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  const words = code === undefined ? undefined : (IN_WORDS[code] ?? (code.startsWith('HPE_') ? 'the response is not valid HTTP' : TLS_PREFIXES.some((p) => code.startsWith(p)) ? 'TLS handshake failed' : undefined));
  const raw = code && !message.includes(code) ? `${code}: ${message}` : message;
  return redactUrlCredentials(words ? `${words} (${raw})` : raw);
}
