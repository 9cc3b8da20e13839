// One MQTT subscriber for the mqtt kind and flow watchers alike: the connection every prober
// opens (openTimedSocket: DNS, connect, TLS timed, the certificate recorded), handed to mqtt.js
// for CONNECT, then SUBSCRIBE. Refusals read as what they are (a CONNACK or SUBACK reason, the
// broker hanging up); messages go to the caller from the first, retained ones marked.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MqttClient, type IClientOptions, type IPublishPacket } from 'mqtt';
import type { TlsSettings } from '../config/fields.js';
import { lookupFamily, type HostPort, type IpFamily } from '../config/probe-fields.js';
import { formatDuration } from '../config/units.js';
import { abortFailure, classifyError } from './classify-error.js';
import { causeOf, openTimedSocket, stageOf, type Timeline } from './connect.js';
import type { Failure } from './types.js';

export interface MqttTarget {
  url: HostPort;
  tls: TlsSettings;
  ipFamily: IpFamily;
  version: '3.1.1' | '5';
  username?: string | undefined;
  password?: string | undefined;
  topics: readonly string[];
  qos: 0 | 1;
}

export interface MqttHandlers {
  /** Every message, from before the SUBACK on (a broker sends retained ones right away). */
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
  /** The session broke once subscribed: the broker hung up or sent what mqtt.js refused. */
  onBroken(failure: Failure): void;
}

export interface MqttSession {
  client: MqttClient;
  /** From the start to the CONNACK, ms. */
  connectMs: number;
  /** performance.now() at the SUBACK. */
  subscribedAt: number;
  close(): void;
}

const AUTH_CODES = new Set([4, 5, 134, 135, 138, 140]);

export async function openMqtt(target: MqttTarget, timeline: Timeline, signal: AbortSignal, timeoutMs: number, handlers: MqttHandlers): Promise<MqttSession | { failure: Failure }> {
  const started = performance.now();
  let socket: Socket;
  try {
    socket = await openTimedSocket({ hostname: target.url.hostname, port: target.url.port, secure: target.url.scheme === 'mqtts' }, target.tls, timeline, signal, lookupFamily(target.ipFamily));
  } catch (error) {
    return { failure: classifyError(causeOf(error, timeline), signal, stageOf(timeline)) };
  }
  const options: IClientOptions = {
    protocolVersion: target.version === '5' ? 5 : 4,
    // Unique per run (a broker drops the older of two sessions with one id; 3.1.1 allows 23 characters).
    clientId: `flowprobe-${randomBytes(6).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    keepalive: 60,
    resubscribe: false,
    timerVariant: 'native',
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
  };
  const client = new MqttClient(() => socket, options);
  const close = () => {
    client.removeAllListeners('message');
    client.on('error', () => undefined);
    client.end(true);
    socket.destroy();
  };
  client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => handlers.onMessage(topic, payload, packet.retain));
  const opened = await new Promise<MqttSession | { failure: Failure }>((resolve) => {
    let connectMs: number | undefined;
    let settled = false;
    const settle = (value: MqttSession | { failure: Failure }) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => settle({ failure: abortFailure(signal) });
    signal.addEventListener('abort', onAbort, { once: true });
    client.on('error', (error: Error & { code?: number | string }) => {
      const failure = connectMs === undefined ? refusal(error) : { code: 'protocol' as const, message: `the broker broke the session: ${error.message}` };
      if (settled) handlers.onBroken(failure);
      else settle({ failure });
    });
    client.on('close', () => {
      const at = formatDuration(performance.now() - started);
      const failure: Failure = connectMs === undefined ? { code: 'closed', message: `the broker closed the connection before accepting it (no CONNACK after ${at})` } : { code: 'closed', message: `the broker closed the connection after ${at}` };
      if (settled) handlers.onBroken(failure);
      else settle({ failure });
    });
    client.once('connect', () => {
      connectMs = performance.now() - started;
      client.subscribe([...target.topics], { qos: target.qos }, (error, granted) => {
        if (error) return settle({ failure: { code: 'protocol', message: `the subscription failed: ${error.message}` } });
        const refused = (granted ?? []).find((g) => g.qos === 128 || g.qos > 2);
        if (refused) return settle({ failure: { code: 'auth', message: `the broker refused the subscription to ${refused.topic} (SUBACK 0x80: not permitted, or the filter is not supported)` } });
        settle({ client, connectMs: connectMs as number, subscribedAt: performance.now(), close });
      });
    });
  });
  if ('failure' in opened) close();
  return opened;
}

/** The broker said no to CONNECT (a CONNACK with a reason), or the session broke before it. */
function refusal(error: Error & { code?: number | string }): Failure {
  const code = typeof error.code === 'number' ? error.code : undefined;
  if (code === undefined) return { code: 'protocol', message: `the MQTT session failed before the broker accepted it: ${error.message}` };
  const why = error.message.replace(/^Connection refused: /, '');
  return { code: AUTH_CODES.has(code) ? 'auth' : 'protocol', message: `the broker refused the connection: ${why} (CONNACK ${code})` };
}
