// A tiny HTTP target for benchmarks, run as its own process so its CPU is not counted.
//   node dist/bench/target-server.js PORT
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const body = JSON.stringify({ status: 'ok', items: [1, 2, 3] });
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  })
  .listen(port, '127.0.0.1', () => process.send?.('ready'));
