// Secrets never leave the process: not in logs, metrics, API output or alert text.

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+(?::[^\s/@]*)?@/gi;
export const REDACTED = '[REDACTED]';

/** Removes user:password@ from every URL in `text` (as alertmanager's RedactURL does). */
export function redactUrlCredentials(text: string): string {
  // Credentials in a URL need an @: most text has none, and skips the expression.
  return text.includes('@') ? text.replace(URL_CREDENTIALS, `$1${REDACTED}@`) : text;
}

export type Redact = (text: string) => string;

/** Every form a secret takes in text the daemon itself builds or reads back: as is; escaped in
 * JSON; percent-encoded as encodeURIComponent does, as a URL query does (WHATWG encodes ' as
 * %27, which encodeURIComponent leaves), as a form does (space as +), in either hex case; and
 * with its whitespace collapsed (body excerpts), raw and in JSON. */
export function formsOf(secret: string): string[] {
  const collapsed = secret.replace(/\s+/g, ' ').trim();
  const percent = encodeURIComponent(secret);
  const query = percent.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const form = new URLSearchParams({ x: secret }).toString().slice(2);
  const json = (s: string) => JSON.stringify(s).slice(1, -1);
  return [secret, json(secret), percent, query, form, query.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()), collapsed, json(collapsed)];
}

/** A scrubber for the given secret values plus URL credentials. Each secret in every form it
 * takes (formsOf); longest first, so a secret that contains another is removed whole. This is
 * the one place secrets leave text: callers redact first and shorten after, never the reverse. */
export function createRedactor(secrets: readonly string[]): Redact {
  const forms = secrets.flatMap(formsOf);
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
