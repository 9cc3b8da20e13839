// The tcp kind: what its runs report beyond phases (and the certificate line over TLS), how
// that reads, its figures. Its schema is ./schema.ts, its prober ./prober.ts.
import type { Kind } from '../kinds.js';

declare module '../kinds.js' {
  interface Details {
    tcp: TcpDetail;
  }
}

export interface TcpDetail {
  kind: 'tcp';
  /** DNS, connect (and TLS) done, ms. */
  connectMs: number | undefined;
  /** Bytes sent and read. */
  sent: number;
  received: number;
  /** From connected (and sent) to the reply that matched, ms. */
  replyMs: number | undefined;
}

export const tcpKind: Kind<'tcp', undefined> = {
  tlsSchemes: ['tcps'],
  series: () => undefined,
  prober: async () => (await import('./prober.js')).probeTcp,
  emptyDetail: () => ({ kind: 'tcp', connectMs: undefined, sent: 0, received: 0, replyMs: undefined }),
  main: { figure: { name: 'duration' }, label: 'duration' },
  target: (spec) => `TCP ${spec.url.hostname.includes(':') ? `[${spec.url.hostname}]` : spec.url.hostname}:${spec.url.port}${spec.url.scheme === 'tcps' ? ' (TLS)' : ''}`,
  figures: () => ['duration', 'phase.dns', 'phase.connect', 'phase.tls', 'phase.first_byte'],
  describe: (d) => [`tcp: connected in ${d.connectMs === undefined ? '-' : `${d.connectMs.toFixed(1)}ms`} · ${d.sent} B sent · ${d.received} B received${d.replyMs === undefined ? '' : ` · reply after ${d.replyMs.toFixed(1)}ms`}`],
  declare: () => undefined,
  record: () => undefined,
};
