// The dns kind: what its runs report (each server's answer), how that reads, its figures and
// the series it feeds. Its schema is ./schema.ts, its prober ./prober.ts.
import { Gauge, type Registry } from 'prom-client';
import { formatDuration } from '../../config/units.js';
import type { Kind } from '../kinds.js';

declare module '../kinds.js' {
  interface Details {
    dns: DnsDetail;
  }
}

/** One server's answer to the run's question. */
export interface ServerAnswer {
  server: string;
  /** From the first query sent to the answer, ms; undefined when none came. */
  responseMs: number | undefined;
  rcode: string | undefined;
  /** Records of the asked type, as dig +short prints them (at most 32 kept). */
  records: string[];
  /** Every record in the answer section, CNAMEs of a chain included. */
  answerCount: number;
  /** The lowest TTL among the records of the asked type, seconds. */
  minTtl: number | undefined;
  authoritative: boolean | undefined;
  /** The transport the answer came over (udp, or tcp after a truncated one). */
  transport: 'udp' | 'tcp' | undefined;
  /** UDP queries sent (a lost datagram is sent again). */
  queries: number;
  /** Why no answer came, when none did. */
  error: string | undefined;
}

export interface DnsDetail {
  kind: 'dns';
  question: string;
  servers: ServerAnswer[];
}

const series = (registers: Registry[]) => ({
  response: new Gauge({ name: 'flowprobe_dns_response_seconds', help: 'Time to the last run\'s answer, by server (absent when none came).', labelNames: ['probe', 'server'], registers }),
  minTtl: new Gauge({ name: 'flowprobe_dns_min_ttl_seconds', help: 'Lowest TTL among the records of the asked type in the last answer, by server.', labelNames: ['probe', 'server'], registers }),
  records: new Gauge({ name: 'flowprobe_dns_records', help: 'Records of the asked type in the last answer, by server.', labelNames: ['probe', 'server'], registers }),
});

export const dnsKind: Kind<'dns', ReturnType<typeof series>> = {
  series,
  prober: async () => (await import('./prober.js')).probeDns,
  emptyDetail: (spec) => ({ kind: 'dns', question: `${spec.query} ${spec.type}`, servers: [] }),
  main: { figure: { name: 'phase', phase: 'dns' }, label: 'answer' },
  target: (spec) => `DNS ${spec.query} ${spec.type} @ ${spec.servers ? spec.servers.map((s) => s.label).join(', ') : 'system resolvers'}`,
  figures: () => ['duration', 'phase.dns'],
  describe: (d) =>
    d.servers.map((s) => {
      const how = s.responseMs === undefined ? `no answer: ${s.error ?? 'none'}` : `${s.rcode} in ${formatDuration(s.responseMs)} over ${s.transport}${s.authoritative ? ' (authoritative)' : ''}`;
      const records = s.records.length ? ` · ${s.records.join(', ')}${s.minTtl === undefined ? '' : ` · lowest TTL ${s.minTtl}s`}` : '';
      return `dns ${d.question} @ ${s.server}: ${how}${records}`;
    }),
  declare: () => undefined,
  record: (probe, d, m) => {
    for (const s of d.servers) {
      const labels = { probe, server: s.server };
      if (s.responseMs === undefined) m.response.remove(labels);
      else m.response.set(labels, s.responseMs / 1000);
      if (s.minTtl === undefined) m.minTtl.remove(labels);
      else m.minTtl.set(labels, s.minTtl);
      m.records.set(labels, s.records.length);
    }
  },
};
