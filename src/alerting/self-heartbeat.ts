// The daemon's dead-man's switch: while it runs, a POST to `selfHeartbeat.url` every interval.
// Someone else (a healthchecks-style service, another flowprobe) pages when the pings stop,
// which is the one failure this daemon cannot report itself. Each ping has a deadline of its own
// timers (undici's headers and body timeouts, never an AbortSignal a collection can lose); a
// failed ping is logged and the next one goes out on time.
import { Agent, request } from 'undici';
import type { DaemonSettings } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { Clock, Timer } from '../scheduler/clock.js';

type Settings = NonNullable<DaemonSettings['selfHeartbeat']>;

export class SelfHeartbeat {
  private timer: Timer | undefined;
  private agent: Agent | undefined;
  private settings: Settings | undefined;
  private inFlight = false;
  /** Pings that reached the URL and were answered 2xx, and those that did not. */
  readonly counts = { ok: 0, failed: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly healthy: () => boolean,
  ) {}

  /** Starts, restarts with new settings, or stops (undefined). */
  configure(settings: Settings | undefined): void {
    const same = JSON.stringify(settings ?? null) === JSON.stringify(this.settings ?? null);
    if (same && (this.timer || !settings)) return;
    this.stop();
    this.settings = settings;
    if (!settings) return;
    const deadline = Math.min(settings.every, 10_000);
    const { ca, cert, key, passphrase, insecureSkipVerify, serverName } = settings.tls;
    this.agent = new Agent({ headersTimeout: deadline, bodyTimeout: deadline, connectTimeout: deadline, connect: { ca, cert, key, passphrase, rejectUnauthorized: !insecureSkipVerify, ...(serverName ? { servername: serverName } : {}) } });
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    this.timer = this.clock.setTimer(delayMs, () => {
      const settings = this.settings;
      if (!settings) return;
      this.schedule(settings.every);
      if (this.healthy() && !this.inFlight) void this.ping(settings);
    });
  }

  private async ping(settings: Settings): Promise<void> {
    this.inFlight = true;
    const agent = this.agent;
    try {
      const res = await request(settings.url, { method: 'POST', dispatcher: agent, headers: settings.token ? { authorization: `Bearer ${settings.token}` } : {} });
      await res.body.dump({ limit: 64 * 1024 });
      if (res.statusCode >= 200 && res.statusCode < 300) {
        this.counts.ok += 1;
        this.logger.debug({ status: res.statusCode }, 'self heartbeat sent');
      } else {
        this.counts.failed += 1;
        this.logger.warn({ status: res.statusCode }, `self heartbeat refused: HTTP ${res.statusCode} from the heartbeat URL`);
      }
    } catch (error) {
      this.counts.failed += 1;
      this.logger.warn({ err: error }, `self heartbeat not delivered: ${(error as Error).message}`);
    } finally {
      this.inFlight = false;
    }
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    void this.agent?.destroy().catch(() => undefined);
    this.agent = undefined;
  }
}
