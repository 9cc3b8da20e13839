// Secrets never leave the process: not in logs, metrics, API output or alert text.

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+(?::[^\s/@]*)?@/gi;
export const REDACTED = '[REDACTED]';

/** Removes user:password@ from every URL in `text` (as alertmanager's RedactURL does). */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
}

export type Redact = (text: string) => string;

/** A scrubber for the given secret values plus URL credentials, whatever their length. Each
 * secret also in the forms it takes inside JSON text and URLs; longest first, so a secret that
 * contains another is removed whole. Callers redact before they shorten text, never after. */
export function createRedactor(secrets: readonly string[]): Redact {
  const forms = secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]);
  const ordered = [...new Set(forms)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of ordered) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return redactUrlCredentials(out);
  };
}

/** Applies `redact` to every string inside a JSON-like value (for API output and log objects). */
export function redactDeep<T>(value: T, redact: Redact): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item, redact);
    return out as T;
  }
  return value;
}
