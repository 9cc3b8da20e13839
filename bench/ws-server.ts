// A WebSocket echo server for benchmarks, in its own process.
//   node dist/bench/ws-server.js PORT
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), backlog: 20_000, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
wss.on('listening', () => process.send?.({ port: (wss.address() as { port: number }).port }));
