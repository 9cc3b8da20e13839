// An SSE server for benchmarks, in its own process: every stream gets one event per `every` ms
// at its own offset (spread over the interval, as independent publishers would be), stamped
// with its send time (same host clock), and one right away on connect.
//   node dist/bench/sse-server.js PORT EVERY_MS
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const port = Number(process.argv[2] ?? 0);
const every = Number(process.argv[3] ?? 1000);
const SLOTS = 100;
const slots: Array<Set<http.ServerResponse>> = Array.from({ length: SLOTS }, () => new Set());
const now = () => performance.timeOrigin + performance.now();
let n = 0;
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(`id: ${++n}\ndata: {"t":${now()}}\n\n`);
  const slot = slots[n % SLOTS] as Set<http.ServerResponse>;
  slot.add(res);
  req.on('close', () => slot.delete(res));
});
server.keepAliveTimeout = 0;
let tick = 0;
setInterval(() => {
  for (const res of slots[tick++ % SLOTS] as Set<http.ServerResponse>) res.write(`data: {"t":${now()}}\n\n`);
}, every / SLOTS);
server.listen(port, '127.0.0.1', 20_000, () => process.send?.({ port: (server.address() as { port: number }).port }));
