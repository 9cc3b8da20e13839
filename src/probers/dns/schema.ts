// A dns probe as written in a probe file: one question (a name and a record type) asked of the
// system's resolvers or of named servers, each server asked and reported on its own; what the
// answer must be (rcode, records, TTL, authority) and how fast.
import { isIP } from 'node:net';
import { z } from 'zod';
import { count, duration, regex, text } from '../../config/fields.js';
import { inRun, probeName, scheduleFields } from '../../config/probe-fields.js';

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'NS', 'CAA'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const;

/** A DNS server, parsed once at load: an IP address with an optional port (53). */
export interface DnsServer {
  /** "127.0.0.1:5353", "[::1]:53": how headlines name it. */
  label: string;
  address: string;
  port: number;
  family: 4 | 6;
}

/** "10.0.0.2", "10.0.0.2:5353", "::1", "[::1]:5353" — the forms `dns.getServers()` gives too. */
export function parseServer(value: string): DnsServer | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value);
  const v4 = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(value);
  const [address, port] = bracketed ? [bracketed[1] as string, bracketed[2]] : v4 ? [v4[1] as string, v4[2]] : [value, undefined];
  const family = isIP(address);
  const portNumber = port === undefined ? 53 : Number(port);
  if ((family !== 4 && family !== 6) || portNumber < 1 || portNumber > 65_535) return undefined;
  return { label: family === 6 ? `[${address}]:${portNumber}` : `${address}:${portNumber}`, address, port: portNumber, family };
}

const server = z
  .string({ error: 'expected a DNS server address' })
  .max(64)
  .transform((value, ctx) => {
    const parsed = parseServer(value);
    if (parsed) return parsed;
    ctx.addIssue({ code: 'custom', message: `expected an IP address with an optional port (10.0.0.2, 10.0.0.2:5353, [::1]:53), found "${value}" (a server named by host name would need DNS to find DNS)` });
    return z.NEVER;
  });

/** A name as DNS carries it: labels of 1–63 letters, digits, "-" or "_", at most 253 in all. */
const queryName = z
  .string({ error: 'expected a domain name' })
  .max(254)
  .transform((value) => value.replace(/\.$/, '').toLowerCase())
  .refine((name) => name.length > 0 && name.length <= 253 && name.split('.').every((label) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)), {
    error: 'expected a domain name like api.example.com (labels of letters, digits, "-" or "_", at most 63 each, 253 in all)',
  });

/** A record as it reads in an answer ("10 mail.example.com" for MX), compared as written. */
const record = text(1_024, 'a record as dig +short prints it');

export const dnsProbe = z.strictObject({
  name: probeName,
  kind: z.literal('dns'),
  ...scheduleFields,
  /** The name asked for. */
  query: queryName,
  type: z.enum(RECORD_TYPES, { error: `expected a record type: ${RECORD_TYPES.join(', ')}` }).default('A'),
  /** Asked each, in parallel, every run; the system's resolvers (resolv.conf) when absent. */
  servers: z.array(server).min(1).max(16).optional(),
  /** udp falls back to TCP when an answer comes truncated; tcp asks over TCP only. */
  transport: z.enum(['udp', 'tcp'], { error: 'expected udp or tcp' }).default('udp'),
  /** Ask the server to recurse (RD); off to ask an authoritative server about its own zone. */
  recursion: z.boolean().default(true),
  expect: z
    .strictObject({
      rcode: z.enum(RCODES, { error: `expected a response code: ${RCODES.join(', ')}` }).default('NOERROR'),
      /** Records of the asked type: 1 by default when NOERROR is expected, else 0. */
      minAnswers: count(0, 1_000).optional(),
      answers: z
        .strictObject({
          /** These records and no others (in any order). */
          exact: z.array(record).min(1).max(100).optional(),
          /** At least these records. */
          contains: z.array(record).min(1).max(100).optional(),
          /** Every record matches (RE2). */
          matches: regex.optional(),
        })
        .optional(),
      /** The lowest TTL among the records at least this (a record about to expire everywhere). */
      minTtl: duration(1_000, 30 * 86_400_000).optional(),
      /** The answer carries the AA flag: the server is authoritative for the name. */
      authoritative: z.boolean().optional(),
      /** Each server answers within this. */
      maxResponse: inRun().optional(),
    })
    .default({ rcode: 'NOERROR' }),
  degradeWhen: z.strictObject({ maxResponse: inRun().optional() }).default({}),
});
