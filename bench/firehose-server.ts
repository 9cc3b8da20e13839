// A stream at a given rate for bench/firehose.ts, in its own process: SSE events in batches every
// 10 ms, and a WebSocket endpoint that echoes every message (for bursts).
//   node dist/bench/firehose-server.js PORT
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  const rate = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('rate') ?? 10);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let id = 0;
  const perTick = Math.max(1, Math.round(rate / 100));
  const timer = setInterval(() => {
    let chunk = '';
    for (let i = 0; i < perTick; i++) chunk += `id: ${++id}\ndata: {"n":${id}}\n\n`;
    res.write(chunk);
  }, 10);
  res.on('close', () => clearInterval(timer));
});
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
server.listen(port, '127.0.0.1', () => process.send?.('ready'));
