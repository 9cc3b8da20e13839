// What a TLS connection showed of the server: the leaf certificate (subject, SANs, issuer, not
// after), the earliest expiry in the chain it presented, the protocol and cipher, and whether
// the chain verified — read once per connection from the socket, for every kind that speaks TLS;
// and the certificate limit (`certExpiresIn`) every such probe may set.
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { formatDuration } from '../config/units.js';
import type { CheckResult } from './types.js';

export interface TlsReport {
  /** "TLSv1.3" */
  version: string | undefined;
  cipher: string | undefined;
  /** The leaf's subject CN (or the whole subject), its DNS and IP SANs, and its issuer's CN. */
  subject: string;
  sans: string[];
  issuer: string;
  /** The leaf's not-after, epoch ms. */
  notAfter: number;
  /** The earliest not-after in the chain (epoch ms), and whose it is ("leaf", or the subject). */
  earliestNotAfter: number;
  earliestOf: string;
  /** Certificates in the chain as seen (the leaf first). */
  chainLength: number;
  /** The chain verified against the trusted CAs (false only with insecureSkipVerify). */
  verified: boolean;
  /** Why it did not, in OpenSSL's words (CERT_HAS_EXPIRED…). */
  verifyError: string | undefined;
}

const CHAIN_LIMIT = 10;

/** The report of a connected TLS socket; undefined when the peer showed no certificate. */
export function tlsReportOf(socket: TLSSocket): TlsReport | undefined {
  const error = socket.authorizationError as unknown as Error | string | null | undefined;
  return peerReport(socket.getPeerCertificate(true), {
    version: socket.getProtocol() ?? undefined,
    cipher: socket.getCipher()?.name,
    verified: socket.authorized,
    verifyError: error ? (typeof error === 'string' ? error : ((error as { code?: string }).code ?? error.message)) : undefined,
  });
}

/** The report of a certificate a library handed over without its socket (gRPC's auth context):
 * the chain as far as it came with it (often the leaf alone). */
export function peerReport(leaf: PeerCertificate | DetailedPeerCertificate | undefined, connection: Pick<TlsReport, 'version' | 'cipher' | 'verified' | 'verifyError'>): TlsReport | undefined {
  if (!leaf || !leaf.valid_to) return undefined;
  const chain: DetailedPeerCertificate[] = [];
  for (let cert: DetailedPeerCertificate | undefined = leaf as DetailedPeerCertificate; cert && cert.valid_to && chain.length < CHAIN_LIMIT; cert = cert.issuerCertificate) {
    chain.push(cert);
    // The root is its own issuer.
    if (cert.issuerCertificate === cert || cert.issuerCertificate?.fingerprint256 === cert.fingerprint256) break;
  }
  const notAfter = (c: PeerCertificate) => Date.parse(c.valid_to);
  const earliest = chain.reduce<PeerCertificate>((a, b) => (notAfter(b) < notAfter(a) ? b : a), leaf);
  return {
    ...connection,
    subject: nameOf(leaf.subject),
    sans: sansOf(leaf.subjectaltname),
    issuer: nameOf(leaf.issuer),
    notAfter: notAfter(leaf),
    earliestNotAfter: notAfter(earliest),
    earliestOf: earliest === leaf ? 'leaf' : nameOf(earliest.subject),
    chainLength: chain.length,
  };
}

function nameOf(name: Record<string, string | string[] | undefined> | undefined): string {
  if (!name) return '?';
  const cn = name.CN;
  if (cn) return Array.isArray(cn) ? cn.join(', ') : cn;
  return Object.entries(name).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${Array.isArray(v) ? v.join('+') : v}`])).join(', ') || '?';
}

function sansOf(text: string | undefined): string[] {
  return (text ?? '').split(', ').map((s) => s.replace(/^(DNS|IP Address):/, '')).filter(Boolean).slice(0, 20);
}

const DAY_MS = 86_400_000;

/** "2 days" / "5 hours": how long until `at`. */
function left(ms: number): string {
  return ms >= 2 * DAY_MS ? `${Math.floor(ms / DAY_MS)} days` : formatDuration(Math.max(0, ms));
}

/** The certificate limit: the earliest expiry in the chain at least `certExpiresIn` away (fail),
 * or `degradeWhen.certExpiresIn` (degraded). Undefined when the probe sets neither. */
export function certificateCheck(report: TlsReport | undefined, limits: { fail: number | undefined; degrade: number | undefined }, now: number): CheckResult | undefined {
  const { fail, degrade } = limits;
  if (fail === undefined && degrade === undefined) return undefined;
  const expected = fail === undefined ? `>= ${formatDuration(degrade as number)} left (else degraded)` : degrade === undefined || degrade <= fail ? `>= ${formatDuration(fail)} left` : `>= ${formatDuration(degrade)} left (degraded under, failed under ${formatDuration(fail)})`;
  if (!report) return { name: 'certificate', ok: fail === undefined, expected, observed: 'no TLS connection made' };
  const remaining = report.earliestNotAfter - now;
  const date = new Date(report.earliestNotAfter).toISOString().slice(0, 10);
  const whose = report.earliestOf === 'leaf' ? `${report.subject} (leaf)` : `${report.earliestOf} (in the chain of ${report.subject})`;
  const observed = remaining <= 0 ? `${whose} expired ${left(-remaining)} ago, ${date}` : `${whose} expires in ${left(remaining)}, ${date}`;
  const ok = fail === undefined || remaining >= fail;
  const result: CheckResult = { name: 'certificate', ok, expected, observed, code: 'tls' };
  return ok && degrade !== undefined && remaining < degrade ? { ...result, degraded: true } : result;
}

/** The headline of a run a certificate limit failed or degraded: "certificate for api (leaf)
 * expires in 5 days, 2026-12-06, under 7d". */
export function certificateHeadline(check: CheckResult): string {
  const degradeOrOnly = /^>= (\S+)/.exec(check.expected)?.[1];
  const limit = check.degraded ? degradeOrOnly : (/failed under (\S+?)\)/.exec(check.expected)?.[1] ?? degradeOrOnly);
  return `certificate for ${check.observed}, under ${limit}`;
}

/** One line for humans: protocol, cipher, whose certificate, issuer, expiry. */
export function describeTls(report: TlsReport, now: number): string {
  const expiry = (at: number) => `${new Date(at).toISOString().slice(0, 10)} (${at > now ? `in ${left(at - now)}` : `${left(now - at)} ago`})`;
  const earliest = report.earliestOf === 'leaf' ? '' : ` · earliest in chain: ${report.earliestOf}, ${expiry(report.earliestNotAfter)}`;
  const sans = report.sans.length > 0 ? ` [${report.sans.slice(0, 4).join(', ')}${report.sans.length > 4 ? ', …' : ''}]` : '';
  return `tls: ${report.version ?? '?'} ${report.cipher ?? ''} · ${report.subject}${sans} · issuer ${report.issuer} · expires ${expiry(report.notAfter)}${earliest} · ${report.verified ? 'verified' : `NOT verified (${report.verifyError ?? 'unknown'})`}`;
}
