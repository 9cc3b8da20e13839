// test-runner: long (over a minute on purpose: started first, so it does not end the run alone)
// Crash safety with a real daemon process killed with SIGKILL at 20 pseudo-random moments of an
// incident, then restarted on the same state directory: no firing twice, no resolved lost, every
// incident still going after the restart reported (and paged when the receiver was up), and
// what was queued for a receiver that was down is delivered, as the current picture, once it is back.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { configDir } from '../../test/config-dir.js';
import { closedPort, httpServer } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const KILL_POINTS = 20;

interface Received {
  id: string;
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

it(`survives kill -9 at ${KILL_POINTS} points of an incident: nothing doubled, nothing lost`, async () => {
  const random = seeded(20261127);
  let healthy = true;
  let sinkUp = true;
  const received: Received[] = [];
  const target = await httpServer((_req, res) => void res.writeHead(healthy ? 200 : 503).end());
  const sink = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (!sinkUp) return void res.writeHead(503).end();
      received.push(JSON.parse(body) as Received);
      res.end();
    });
  });
  const outcomes: string[] = [];
  try {
    for (let i = 0; i < KILL_POINTS; i++) {
      received.length = 0;
      healthy = false;
      sinkUp = true;
      const port = await closedPort();
      const dir = configDir(
        [
          'probesDir: probes',
          `listen: 127.0.0.1:${port}`,
          'detect: { failAfter: 2, recoverAfter: 2, failureRatio: false }',
          'alerting:',
          `  receivers: [{ name: sink, webhook: { url: "${sink.url}/" } }]`,
          '  group: { wait: 50ms, interval: 100ms, repeat: 1h }',
          '  retry: { initial: 100ms, max: 300ms }',
          '',
        ].join('\n'),
        { 'api.yaml': `name: api\nkind: http\nevery: 100ms\ntimeout: 80ms\nurl: ${target.url}/\n` },
      );
      const start = () => spawn(process.execPath, [MAIN, 'run', '--config', dir.configFile], { stdio: 'ignore' });
      const killAfter = Math.round(100 + random() * 1400);
      const recoverWhileDown = i % 2 === 1;
      const sinkDownAcross = i % 3 === 0;
      let daemon: ChildProcess = start();
      await new Promise((resolve) => setTimeout(resolve, killAfter));
      if (sinkDownAcross) sinkUp = false;
      daemon.kill('SIGKILL');
      await new Promise((resolve) => daemon.once('exit', resolve));
      if (recoverWhileDown) healthy = true;
      daemon = start();
      try {
        const base = `http://127.0.0.1:${port}`;
        await waitFor('the restarted daemon', async () => (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) || undefined, 10_000, 20);
        // Still down after the restart for a while, then the target and the sink come back.
        await new Promise((resolve) => setTimeout(resolve, 400));
        healthy = true;
        sinkUp = true;
        await waitFor(
          'the incident to settle: healthy, nothing firing, nothing queued',
          async () => {
            const status = (await (await fetch(`${base}/api/v1/status`)).json()) as { probes: Array<{ state: string }> };
            const alerts = (await (await fetch(`${base}/api/v1/alerts`)).json()) as { alerts: unknown[] };
            const metrics = await (await fetch(`${base}/metrics`)).text();
            const pending = /flowprobe_outbox_pending\{receiver="sink",location="default"\} (\d+)/.exec(metrics)?.[1];
            return status.probes[0]?.state === 'healthy' && alerts.alerts.length === 0 && pending === '0' ? true : undefined;
          },
          15_000,
          50,
        );
      } finally {
        daemon.kill('SIGKILL');
        await new Promise((resolve) => daemon.once('exit', resolve));
      }
      const distinct = [...new Map(received.map((r) => [r.id, r])).values()];
      const firing = distinct.filter((r) => r.alerts.some((a) => a.labels.alertname === 'ProbeFailing' && a.status === 'firing'));
      const resolved = distinct.filter((r) => r.alerts.some((a) => a.labels.alertname === 'ProbeFailing' && a.status === 'resolved'));
      outcomes.push(`#${i + 1} kill@${killAfter}ms ${recoverWhileDown ? 'recovered-while-down' : 'down-across-restart'}${sinkDownAcross ? ' sink-down' : ''}: firing ${firing.length}, resolved ${resolved.length}, redelivered ${received.length - distinct.length}`);
      assert.ok(firing.length <= 1, `firing notified twice: ${outcomes.at(-1)}`);
      assert.ok(resolved.length <= 1, `resolved notified twice: ${outcomes.at(-1)}`);
      // Never a page without its all-clear. (An all-clear without a page is the current picture
      // of an incident whose page never got through: the receiver was down all along.)
      if (firing.length === 1) assert.equal(resolved.length, 1, `a resolved was lost: ${outcomes.at(-1)}`);
      // The outage went on after the restart (400 ms, 4 failing runs, failAfter 2): whatever the
      // kill interrupted, that incident is all-cleared, and paged when the receiver was up.
      if (!recoverWhileDown) assert.equal(resolved.length, 1, `the incident was never reported: ${outcomes.at(-1)}`);
      if (!recoverWhileDown && !sinkDownAcross) assert.equal(firing.length, 1, `the incident was never paged: ${outcomes.at(-1)}`);
    }
  } finally {
    process.stderr.write(`${outcomes.join('\n')}\n`);
    await target.close();
    await sink.close();
  }
});
