// Moments on the page: "12s ago" and "in 8s" (kept current by live.js), and a moment in the
// reader's local time (UTC without JavaScript), with UTC on hover.
import { formatDuration } from '../config/units.js';

/** "12s ago", kept current by live.js from its datetime; the moment itself on hover. */
export function Ago({ at, suffix = ' ago' }: { at: number; suffix?: string }) {
  return (
    <time datetime={iso(at)} data-suffix={suffix} title={utc(at)}>
      {formatDuration(Math.max(0, Date.now() - at))}
      {suffix}
    </time>
  );
}

/** A moment in the reader's local time (live.js rewrites it; UTC without JavaScript), UTC on hover. */
export function When({ at }: { at: number }) {
  return (
    <time datetime={iso(at)} data-local="" title={utc(at)}>
      {utc(at)}
    </time>
  );
}

/** "in 8s", counting down (live.js). */
export function Until({ at }: { at: number }) {
  return (
    <time datetime={iso(at)} data-until="" title={utc(at)}>
      in {formatDuration(Math.max(0, at - Date.now()))}
    </time>
  );
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function utc(ms: number): string {
  return `${iso(ms).slice(0, 19).replace('T', ' ')} UTC`;
}
