// Real servers on loopback port 0 for probers to hit, including hostile ones.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Running {
  url: string;
  port: number;
  close(): Promise<void>;
}

function track(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

async function listenOn(server: net.Server, scheme: string): Promise<Running> {
  const close = track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `${scheme}://127.0.0.1:${port}`, port, close };
}

export function httpServer(handler: http.RequestListener): Promise<Running> {
  return listenOn(http.createServer(handler), 'http');
}

/** A raw TCP server: for targets that do not speak HTTP properly. */
export function tcpServer(onSocket: (socket: net.Socket) => void): Promise<Running> {
  return listenOn(net.createServer(onSocket), 'http');
}

export interface SelfSigned {
  key: Buffer;
  cert: Buffer;
  certFile: string;
}

/** A throwaway self-signed certificate for 127.0.0.1 and localhost (made with openssl). */
export function selfSigned(): SelfSigned {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}

export function httpsServer(tls: SelfSigned, handler: http.RequestListener): Promise<Running> {
  return listenOn(https.createServer({ key: tls.key, cert: tls.cert }, handler), 'https');
}

/** A port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A webhook receiver that keeps every body it was sent (a stand-in pager). */
export async function webhookSink(): Promise<Running & { bodies: string[] }> {
  const bodies: string[] = [];
  const server = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (bodies.push(body), res.end()));
  });
  return Object.assign(server, { bodies });
}

/** A real SMTP server on loopback that keeps every message it accepts (raw). */
export async function smtpSink(): Promise<{ port: number; messages: string[]; close(): Promise<void> }> {
  const { SMTPServer } = await import('smtp-server');
  const messages: string[] = [];
  const port = await closedPort();
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    secure: false,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => (messages.push(raw), callback()));
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
