// A real Alertmanager (Debian prometheus-alertmanager) on loopback, routing everything to one
// webhook — the "on-call receiver" — with short group timings (group_wait long enough for
// daemons in several locations to report the same incident before the first notification).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedPort } from './servers.js';
import { waitFor } from './wait.js';

export async function startAlertmanager(binary: string, webhookUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-am-'));
  writeFileSync(
    path.join(dir, 'am.yml'),
    `route:\n  receiver: oncall\n  group_by: [alertname, probe]\n  group_wait: 2s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: oncall\n    webhook_configs:\n      - url: ${webhookUrl}\n        send_resolved: true\n`,
  );
  const port = await closedPort();
  const child = spawn(binary, [`--config.file=${dir}/am.yml`, `--storage.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Alertmanager to be ready', async () => (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) || undefined, 20_000, 100);
  return {
    url,
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
