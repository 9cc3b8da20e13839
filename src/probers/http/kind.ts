// The http kind: what its runs report beyond phases and checks, how that reads, which figures
// it has, and the series it feeds. Its schema is ./schema.ts, its prober ./prober.ts.
import type { Kind } from '../kinds.js';
import { CONNECTION_PHASES } from '../types.js';

declare module '../kinds.js' {
  interface Details {
    http: HttpDetail;
  }
}

export interface HttpDetail {
  kind: 'http';
  status: number | undefined;
  bytes: number;
  /** What the response said it would send (Content-Length), when it said. */
  expectedBytes?: number | undefined;
  redirects: number;
}

export const httpKind: Kind<'http', undefined> = {
    tlsSchemes: ['https'],
    series: () => undefined,
    prober: async () => (await import('./prober.js')).probeHttp,
    emptyDetail: () => ({ kind: 'http', status: undefined, bytes: 0, redirects: 0 }),
    main: { figure: { name: 'duration' }, label: 'duration' },
    target: (spec) => `${spec.method} ${spec.url}`,
    figures: () => ['duration', ...CONNECTION_PHASES, 'phase.download'],
    describe: (d) => [`http: status ${d.status ?? '-'} · ${d.bytes} bytes · ${d.redirects} redirect(s)`],
    declare: () => undefined,
    record: (probe, d, _series, shared) => {
      if (d.status !== undefined) shared.httpStatus(probe, d.status);
    },
  };
