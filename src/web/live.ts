// /events: the status page's live updates, over the protocol flowprobe monitors. A page
// subscribes to its topic (the overview, or one probe); when a probe's state or last run
// changes, the fresh HTML of its row (or its page's live part) is sent as a `patch` event.
// Every event has an id; a client that reconnects with Last-Event-ID (or `since` from the page
// it was served) gets what it missed, or — when that fell out of the buffer, or the daemon
// restarted — the whole current picture. Bounded: clients, buffered events, and the bytes a
// slow client may leave unread.
import type http from 'node:http';

export type Topic = { page: 'overview' } | { page: 'probe'; probe: string };

export interface Patch {
  /** The id of the element to replace. */
  target: string;
  html: string;
  /** Where a new element goes (the overview's rows), and what the page's filter looks at. */
  into?: string;
  match?: { state: string; kind: string; labels: string[] };
}

export interface LiveSource {
  /** The overview's patches for these probes (rows, and the counts); all of them when undefined. */
  overview(probes: readonly string[] | undefined): Patch[];
  /** The probe page's live part; undefined once the probe is gone. */
  probe(probe: string): Patch | undefined;
}

interface LiveLimits {
  clients: number;
  /** Events kept for clients that reconnect. */
  buffered: number;
  /** A client with more than this unread is cut off (it reconnects and catches up). */
  unreadBytes: number;
  heartbeatMs: number;
  /** Changes are gathered this long, then sent once. */
  coalesceMs: number;
}

const LIMITS: LiveLimits = { clients: 100, buffered: 2000, unreadBytes: 1024 * 1024, heartbeatMs: 15_000, coalesceMs: 250 };

interface Client {
  topic: Topic;
  res: http.ServerResponse;
}

interface Sent {
  id: number;
  key: string;
  frame: string;
}

export class LiveHub {
  private readonly clients = new Set<Client>();
  private readonly buffer: Sent[] = [];
  private lastId = 0;
  private readonly pending = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly source: LiveSource) {
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), LIMITS.heartbeatMs);
    this.heartbeat.unref();
  }

  /** The id of the newest event: a page served now embeds it, and subscribes from there. */
  get eventId(): number {
    return this.lastId;
  }

  /** A probe's state or last run changed. */
  changed(probe: string): void {
    if (this.clients.size === 0) {
      // Nobody to tell: a page served before this change catches up in full when it subscribes.
      this.buffer.length = 0;
      this.lastId++;
      return;
    }
    this.pending.add(probe);
    this.flushTimer ??= setTimeout(() => this.flush(), LIMITS.coalesceMs);
  }

  /** Serves one subscriber until it goes away. `lastEventId` is the Last-Event-ID header, or the
   * page's `since`. */
  attach(req: http.IncomingMessage, res: http.ServerResponse, topic: Topic, lastEventId: number | undefined): void {
    if (this.clients.size >= LIMITS.clients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '30' });
      res.end(`too many live pages open (${LIMITS.clients}); reload later\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    const client: Client = { topic, res };
    this.clients.add(client);
    req.socket.setNoDelay(true);
    res.on('close', () => this.clients.delete(client));
    for (const frame of this.catchUp(topic, lastEventId)) this.write(client, frame);
  }

  close(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.flushTimer);
    for (const client of this.clients) client.res.destroy();
    this.clients.clear();
  }

  /** What a client that last saw `lastEventId` missed: the buffered events after it, or — if
   * those are gone or it never saw any — every patch of its topic as it stands now. */
  private catchUp(topic: Topic, lastEventId: number | undefined): string[] {
    const key = keyOf(topic);
    const oldest = this.buffer[0]?.id ?? this.lastId + 1;
    const known = lastEventId !== undefined && lastEventId <= this.lastId && lastEventId >= oldest - 1;
    if (known) return this.buffer.filter((e) => e.id > lastEventId && e.key === key).map((e) => e.frame);
    const patches = topic.page === 'overview' ? this.source.overview(undefined) : [this.source.probe(topic.probe)].filter((p): p is Patch => p !== undefined);
    return patches.map((patch) => this.record(key, patch).frame);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const probes = [...this.pending];
    this.pending.clear();
    const topics = new Set([...this.clients].map((c) => keyOf(c.topic)));
    if (topics.has('overview')) for (const patch of this.source.overview(probes)) this.publish('overview', patch);
    for (const probe of probes) {
      const key = keyOf({ page: 'probe', probe });
      if (!topics.has(key)) continue;
      const patch = this.source.probe(probe);
      if (patch) this.publish(key, patch);
    }
  }

  private publish(key: string, patch: Patch): void {
    const sent = this.record(key, patch);
    for (const client of this.clients) if (keyOf(client.topic) === key) this.write(client, sent.frame);
  }

  private record(key: string, patch: Patch): Sent {
    const id = ++this.lastId;
    // JSON keeps the data on one line: a newline in observed text cannot end the field.
    const sent = { id, key, frame: `id: ${id}\nevent: patch\ndata: ${JSON.stringify(patch)}\n\n` };
    this.buffer.push(sent);
    if (this.buffer.length > LIMITS.buffered) this.buffer.splice(0, this.buffer.length - LIMITS.buffered);
    return sent;
  }

  private broadcast(frame: string): void {
    for (const client of this.clients) this.write(client, frame);
  }

  private write(client: Client, frame: string): void {
    if (client.res.writableLength > LIMITS.unreadBytes) {
      this.clients.delete(client);
      client.res.destroy();
      return;
    }
    client.res.write(frame);
  }
}

function keyOf(topic: Topic): string {
  return topic.page === 'overview' ? 'overview' : `probe:${topic.probe}`;
}
