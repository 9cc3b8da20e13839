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
