// A bare loop under an HTTP probe: a process doing only the client's part of the work, 200 GETs
// a second spread as the daemon's scheduler spreads its probes (a batch every 10 ms), a fresh
// connection each, the JSON body parsed. No scheduler, checks, metrics or history. It bounds the
// daemon's RSS from below. Its CPU is no floor on a small machine: waking every 10 ms for two
// requests costs about what the whole daemon does (docs/benchmarks.md, "like for like").
// Forked by http-probe.ts, which reads its CPU and RSS from /proc over the same window as the
// daemon's; it answers "count" with how many requests it has finished, and runs until killed (or
// its parent goes, or ten minutes pass).
//   node dist/bench/http-floor.js undici|node-http URL RATE
import http from 'node:http';
import { Client } from 'undici';

const [mode, target, rateText] = process.argv.slice(2);
const url = new URL(target ?? '');
const rate = Number(rateText ?? 200);
let done = 0;

/** Dropped with one error made here, as the daemon drops a run's client (probers/connect.ts): a
 * fresh error per request, its stack formatted, would be a cost the daemon does not pay. */
const DONE = Object.assign(new Error('done'), { stack: 'done' });

function viaUndici(): Promise<void> {
  return new Promise((resolve) => {
    const client = new Client(url.origin, { pipelining: 0 });
    const chunks: Buffer[] = [];
    const end = (): void => {
      void client.destroy(DONE).catch(() => undefined);
      resolve();
    };
    client.dispatch({ origin: url.origin, path: url.pathname, method: 'GET', headers: {} }, {
      onRequestStart() {},
      onResponseStart() {},
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        JSON.parse(Buffer.concat(chunks).toString());
        end();
      },
      onResponseError: end,
    });
  });
}

function viaNodeHttp(): Promise<void> {
  return new Promise((resolve) => {
    const request = http.get({ host: url.hostname, port: url.port, path: url.pathname, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        JSON.parse(Buffer.concat(chunks).toString());
        resolve();
      });
    });
    request.on('error', () => resolve());
  });
}

if (mode !== 'undici' && mode !== 'node-http') throw new Error(`mode must be undici or node-http, not ${mode}`);
const once = mode === 'undici' ? viaUndici : viaNodeHttp;
const start = performance.now();
let sent = 0;
setInterval(() => {
  for (const due = Math.floor((rate * (performance.now() - start)) / 1000); sent < due; sent++) void once().then(() => done++);
}, 10);
process.on('message', () => process.send?.(done));
process.on('disconnect', () => process.exit(0));
// Bounded by itself too: no bench keeps it longer than this.
setTimeout(() => process.exit(0), 10 * 60_000);
process.send?.('ready');
