// JSON logs (pino) with context bound once per component and secrets removed from every line.
import { pino, type Logger, type DestinationStream } from 'pino';
import { redactDeep, type Redact } from './redact.js';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Read on every line, so a reload that adds secrets takes effect at once. */
  redact: () => Redact;
  destination?: DestinationStream;
}

const SECRET_PATHS = [
  '*.routingKey',
  '*.apiKey',
  '*.password',
  '*.token',
  '*.secret',
  '*.apiToken',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.webhookUrl',
];

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'flowprobe' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: SECRET_PATHS, censor: '[REDACTED]' },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactDeep(object, options.redact()),
      },
      hooks: {
        logMethod(args, method) {
          const redact = options.redact();
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
      serializers: { err: (err: Error) => ({ type: err.name, message: options.redact()(err.message), code: (err as NodeJS.ErrnoException).code }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Log lines for a person at a terminal (the demo): "12:55:40 warn  probe failed: … [demo-ingest]". */
export function humanLines(write: (text: string) => void): DestinationStream {
  return {
    write(line: string) {
      try {
        const o = JSON.parse(line) as { time?: string; level?: string; msg?: string; probe?: string; failure?: { message?: string } };
        const failure = o.failure?.message ? ` — ${o.failure.message}` : '';
        write(`${String(o.time ?? '').slice(11, 19)} ${(o.level ?? '').padEnd(5)} ${o.msg ?? ''}${failure}${o.probe ? ` [${o.probe}]` : ''}`);
      } catch {
        write(line.trimEnd());
      }
    },
  };
}
