// For bench/backlog.ts, in its own process: probe targets that flip between 200 and 503 every
// second (each probe its own phase), and a receiver endpoint that accepts requests and never answers.
//   node dist/bench/backlog-server.js PORT
import http from 'node:http';

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/hang')) return; // accepted, never answered
  const n = Number(/\/p(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
  const down = (Math.floor(Date.now() / 1000) + n) % 2 === 0;
  res.writeHead(down ? 503 : 200).end(down ? 'down' : 'ok');
});
server.keepAliveTimeout = 1_000;
server.listen(port, '127.0.0.1', () => process.send?.('ready'));
