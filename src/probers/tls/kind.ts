// The tls kind: what its runs report beyond phases and the certificate line, how that reads, its
// figures. Its schema is ./schema.ts, its prober ./prober.ts.
import type { Kind } from '../kinds.js';

declare module '../kinds.js' {
  interface Details {
    tls: TlsDetail;
  }
}

export interface TlsDetail {
  kind: 'tls';
  /** TCP connect and TLS handshake, together. */
  handshakeMs: number | undefined;
  /** The ALPN protocol the server chose, if any was offered. */
  alpn: string | undefined;
}

export const tlsKind: Kind<'tls', undefined> = {
  tlsSchemes: ['tls'],
  series: () => undefined,
  prober: async () => (await import('./prober.js')).probeTls,
  emptyDetail: () => ({ kind: 'tls', handshakeMs: undefined, alpn: undefined }),
  main: { figure: { name: 'duration' }, label: 'handshake' },
  target: (spec) => `TLS ${spec.url.hostname.includes(':') ? `[${spec.url.hostname}]` : spec.url.hostname}:${spec.url.port}`,
  figures: () => ['duration', 'phase.dns', 'phase.connect', 'phase.tls'],
  describe: (d) => [`handshake: ${d.handshakeMs === undefined ? '-' : `${d.handshakeMs.toFixed(1)}ms`}${d.alpn ? ` · ALPN ${d.alpn}` : ''}`],
  declare: () => undefined,
  record: () => undefined,
};
