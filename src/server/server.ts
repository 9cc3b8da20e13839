// The daemon's HTTP face: /metrics for Prometheus, /healthz and /readyz for supervisors,
// /api/v1/status for humans and dashboards. Read-only; nothing here changes the daemon.
import http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger.js';

export interface ServerDeps {
  registry: Registry;
  /** JSON for /api/v1/status, already free of secrets. */
  status: () => unknown;
  ready: () => boolean;
  logger: Logger;
}

export function createServer(deps: ServerDeps): http.Server {
  const server = http.createServer((req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      deps.logger.error({ err }, 'request handler failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}

async function handle(deps: ServerDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD' });
  switch (url.pathname) {
    case '/metrics':
      return send(res, 200, deps.registry.contentType, await deps.registry.metrics());
    case '/healthz':
      return send(res, 200, 'text/plain', 'ok\n');
    case '/readyz':
      return deps.ready() ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'not ready\n');
    case '/api/v1/status':
      return send(res, 200, 'application/json', `${JSON.stringify(deps.status(), null, 2)}\n`);
    case '/':
      return send(res, 200, 'text/plain', 'flowprobe: see /metrics, /healthz, /readyz, /api/v1/status\n');
    default:
      return send(res, 404, 'text/plain', 'not found\n');
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Listens on "host:port" (port 0 picks a free one); resolves with the bound address. */
export function listen(server: http.Server, address: string): Promise<{ host: string; port: number }> {
  const split = address.lastIndexOf(':');
  const host = address.slice(0, split).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(address.slice(split + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      const bound = server.address();
      resolve({ host, port: typeof bound === 'object' && bound ? bound.port : port });
    });
  });
}
