// The detector inside a real daemon: transitions logged and exported, state persisted across a
// restart, and a failure taken while the daemon was starved marked inconclusive.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startDaemon } from '../../test/daemon-harness.js';
import { httpServer } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';
import { Daemon } from '../daemon.js';
import { systemClock } from '../scheduler/clock.js';

describe('detector in the daemon', () => {
  it('fails, persists the outage across a restart, and recovers with its full duration', async () => {
    let healthy = false;
    const target = await httpServer((_req, res) => void res.writeHead(healthy ? 200 : 503).end());
    const config = 'probesDir: probes\ndetect: { failAfter: 2, recoverAfter: 1 }\n';
    const probe = `name: api\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/\n`;
    const first = await startDaemon(config, { 'a.yaml': probe });
    try {
      const failing = await first.logged((l) => l.probe === 'api' && l.to === 'failing', 'failing transition');
      assert.equal(failing.reason, 'consecutive-failures');
      assert.match((await first.get('/metrics')).text, /flowprobe_probe_state\{probe="api",state="failing",location="default"\} 1/);
      await first.daemon.stop();
      assert.ok(existsSync(path.join(first.dir.dir, 'state', 'detector.json')));

      healthy = true;
      const second = await Daemon.start({
        configFile: first.dir.configFile,
        env: {},
        clock: systemClock,
        version: 'test',
        listen: '127.0.0.1:0',
        logDestination: { write: (line: string) => void first.logs.push(line) },
      });
      try {
        const recovered = await first.logged((l) => l.probe === 'api' && l.to === 'healthy', 'recovery after restart');
        const failedAt = Date.parse(String(JSON.parse(first.logs.find((l) => l.includes('"to":"failing"')) ?? '{}').time));
        assert.ok(Number(recovered.outage_ms) >= Date.parse(String(recovered.time)) - failedAt - 1000, 'the outage counts from before the restart');
        assert.equal(first.logs.filter((l) => l.includes('"to":"failing"')).length, 1, 'no second failing transition after the restart');
      } finally {
        await second.stop();
      }
    } finally {
      await first.daemon.stop();
      await target.close();
    }
  });

  it('marks a failure taken while the daemon was starved as inconclusive', async () => {
    let started = 0;
    const target = await httpServer((req) => {
      started++;
      setTimeout(() => req.socket.destroy(), 150);
    });
    const h = await startDaemon('probesDir: probes\nresources: { self: { eventLoopDelay: 50ms } }\n', {
      'a.yaml': `name: starved\nkind: http\nevery: 5s\ntimeout: 2s\nurl: ${target.url}/\n`,
    });
    try {
      await waitFor('a run in flight', () => started > 0 || undefined, 10_000, 5);
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // The daemon's event loop is blocked, as by a runaway neighbour on a starved host.
      }
      const line = await h.logged((l) => l.probe === 'starved' && typeof l.msg === 'string' && l.msg.startsWith('probe failed'), 'the result');
      assert.equal((line.failure as { code: string }).code, 'inconclusive');
      assert.match((line.failure as { message: string }).message, /the daemon was starved during this run .*: closed: /);
      assert.match((await h.get('/metrics')).text, /flowprobe_probe_runs_total\{probe="starved",result="inconclusive",location="default"\} 1/);
    } finally {
      await h.daemon.stop();
      await target.close();
    }
  });
});
