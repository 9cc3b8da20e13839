// An SSE server for benchmarks, in its own process: every stream gets one event per `every` ms,
import { performance } from 'node:perf_hooks';
// each stamped with its send time (same host clock), and one right away on connect.
//   node dist/bench/sse-server.js PORT EVERY_MS
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const every = Number(process.argv[3] ?? 1000);
const streams = new Set<http.ServerResponse>();
let n = 0;
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(`id: ${++n}\ndata: {"t":${performance.timeOrigin + performance.now()}}\n\n`);
  streams.add(res);
  req.on('close', () => streams.delete(res));
});
server.keepAliveTimeout = 0;
setInterval(() => {
  for (const res of streams) res.write(`data: {"t":${performance.timeOrigin + performance.now()}}\n\n`);
}, every);
server.listen(port, '127.0.0.1', 20_000, () => process.send?.({ port: (server.address() as { port: number }).port }));
