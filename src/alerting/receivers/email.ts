// Email over SMTP with nodemailer: implicit TLS or STARTTLS, auth, a custom CA. Subjects sort
// and thread ([FIRING:n] … / [RESOLVED] …); text and HTML bodies. SMTP 4xx retries, 5xx does not.
import type { Transporter } from 'nodemailer';
import type { ReceiverConfig } from '../../config/schema.js';
import type { Notification } from '../alert.js';
import { alertLine, checkLines, linkFor, screenshotFor, TEST_NOTE, title } from './format.js';
import { networkFailure, type Delivery, type Receiver } from './receiver.js';

type EmailConfig = Extract<ReceiverConfig, { kind: 'email' }>;

export function emailReceiver(config: EmailConfig, timeoutMs: number): Receiver {
  const e = config.email;
  let transport: Transporter | undefined;
  // nodemailer is loaded with the first email, not with every daemon.
  const connect = async (): Promise<Transporter> => (transport ??= (await import('nodemailer')).default.createTransport({
    host: e.host,
    port: e.port,
    secure: e.secure,
    requireTLS: !e.secure && e.requireTls,
    ignoreTLS: !e.secure && !e.requireTls ? false : undefined,
    ...(e.auth ? { auth: { user: e.auth.user, pass: e.auth.pass } } : {}),
    tls: {
      rejectUnauthorized: !e.tls.insecureSkipVerify,
      ...(e.tls.ca ? { ca: e.tls.ca } : {}),
      ...(e.tls.serverName ? { servername: e.tls.serverName } : {}),
      ...(e.tls.cert && e.tls.key ? { cert: e.tls.cert, key: e.tls.key, passphrase: e.tls.passphrase } : {}),
    },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  }));
  return {
    name: config.name,
    kind: 'email',
    async send(n, signal) {
      try {
        const message = emailMessage(n);
        const sent = (await connect()).sendMail({ from: e.from, to: e.to, subject: message.subject, text: message.text, html: message.html, headers: { 'X-Flowprobe-Group': n.groupKey } });
        // The delivery's deadline ends the wait even if the SMTP server holds the connection
        // (nodemailer's own socket timeout closes it behind us).
        await Promise.race([sent, aborted(signal)]);
        return { ok: true };
      } catch (error) {
        return smtpFailure(error, signal);
      }
    },
    close: () => transport?.close(),
  };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function smtpFailure(error: unknown, signal: AbortSignal): Delivery {
  const code = (error as { responseCode?: unknown }).responseCode;
  const message = (error as Error).message;
  if (typeof code === 'number' && code >= 500) return { ok: false, retry: false, retryAfterMs: undefined, reason: 'smtp_5xx', message };
  if (typeof code === 'number' && code >= 400) return { ok: false, retry: true, retryAfterMs: undefined, reason: 'smtp_4xx', message };
  return networkFailure(error, signal);
}

export function emailMessage(n: Notification): { subject: string; text: string; html: string } {
  const link = linkFor(n);
  const shot = screenshotFor(n);
  const sections = n.alerts.map((a) => [alertLine(a), ...(a.status === 'firing' ? checkLines(a).map((l) => `   ${l}`) : []), `   labels: ${Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(' ')}`].join('\n'));
  const text = [n.test ? TEST_NOTE : '', ...sections, link ? `Status page: ${link}` : '', shot ? `The page when it failed: ${shot}` : ''].filter(Boolean).join('\n\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">${n.test ? `<p><em>${escape(TEST_NOTE)}</em></p>` : ''}${n.alerts
    .map(
      (a) =>
        `<h3 style="color:${a.status === 'firing' ? '#d92d20' : '#12b76a'}">${escape(alertLine(a))}</h3>${a.status === 'firing' && a.checks.length ? `<ul>${checkLines(a).map((l) => `<li>${escape(l)}</li>`).join('')}</ul>` : ''}<p style="color:#667085">${escape(Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(' '))}</p>`,
    )
    .join('')}${link ? `<p><a href="${escape(link)}">status page</a></p>` : ''}${shot ? `<p><a href="${escape(shot)}">the page when it failed</a></p>` : ''}</body></html>`;
  return { subject: title(n), text, html };
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
