// Scheduler benchmark: N probes due every second for S seconds. Our timer engine beside
// node-cron scheduling the same load, each in its own child process, in the same run, and two
// floors that say what the figure is made of: a bare timer that wakes as often as ours does
// (on the spread grid) and does nothing, and the same timer doing only what every run needs
// (its AbortController, its deadline timer, its promise).
//   node dist/bench/scheduler.js [--probes 1000] [--seconds 20]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import cron from 'node-cron';
import { systemClock } from '../src/scheduler/clock.js';
import { Scheduler, SPREAD_STEP_MS } from '../src/scheduler/scheduler.js';
import { arg, summarize, table } from './lib.js';

interface Report {
  engine: string;
  fires: number;
  expected: number;
  early: number;
  lateness: number[];
  cpuMicros: number;
}

const probes = arg('probes', 1000);
const seconds = arg('seconds', 20);

type Engine = 'flowprobe' | 'node-cron' | 'floor: wake-ups only' | 'floor: wake-ups + what a run needs';
const ENGINES: readonly Engine[] = ['flowprobe', 'node-cron', 'floor: wake-ups only', 'floor: wake-ups + what a run needs'];

/** Wakes on the spread grid, as the scheduler does, and "fires" the probes due at each wake-up:
 * doing nothing, or creating what a run needs and letting it settle. */
function floorLoop(withRun: boolean, record: (ms: number) => void): () => void {
  const perWake = Math.max(1, Math.round((probes * SPREAD_STEP_MS) / 1000));
  let next = performance.now() + SPREAD_STEP_MS;
  let timer: NodeJS.Timeout | undefined;
  const wake = () => {
    const late = performance.now() - next;
    for (let i = 0; i < perWake; i++) {
      record(late);
      if (!withRun) continue;
      const controller = new AbortController();
      const deadline = setTimeout(() => controller.abort(), 900);
      void (async () => controller.signal)().catch(() => undefined).finally(() => clearTimeout(deadline));
    }
    next += SPREAD_STEP_MS;
    timer = setTimeout(wake, Math.max(1, Math.ceil(next - performance.now())));
  };
  timer = setTimeout(wake, SPREAD_STEP_MS);
  return () => clearTimeout(timer);
}

async function measure(engine: Engine): Promise<Report> {
  const lateness: number[] = [];
  let early = 0;
  const warmupMs = 2000;
  const started = Date.now();
  let cpuStart: NodeJS.CpuUsage | undefined;
  let measuring = false;
  const record = (ms: number) => {
    if (!measuring) return;
    if (ms < 0) early++;
    lateness.push(ms);
  };
  let stop: () => Promise<void> | void;
  if (engine === 'flowprobe') {
    const scheduler = new Scheduler({ clock: systemClock, maxConcurrent: probes, onLateness: record });
    scheduler.update(
      Array.from({ length: probes }, (_, i) => ({
        name: `probe-${i}`,
        schedule: { type: 'every', everyMs: 1000 } as const,
        timeoutMs: 900,
        run: async () => undefined,
      })),
    );
    scheduler.start();
    stop = () => scheduler.stop(0);
  } else if (engine.startsWith('floor')) {
    stop = floorLoop(engine.includes('run'), record);
  } else {
    const tasks = Array.from({ length: probes }, () =>
      cron.schedule('* * * * * *', (context) => record(Date.now() - context.date.getTime())),
    );
    stop = async () => void (await Promise.all(tasks.map((t) => t.destroy())));
  }
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  cpuStart = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  measuring = false;
  const cpu = process.cpuUsage(cpuStart);
  await stop();
  void started;
  return { engine, fires: lateness.length, expected: probes * seconds, early, lateness, cpuMicros: cpu.user + cpu.system };
}

if (process.argv[2] === '--child') {
  const engine = process.argv[3] as Engine;
  const report = await measure(engine);
  process.send?.(report, () => process.exit(0));
} else {
  console.log(`scheduler benchmark: ${probes} probes due every 1s, ${seconds}s measured per engine (after 2s warm-up), Node ${process.version}`);
  const rows = [];
  for (const engine of ENGINES) {
    const child = fork(fileURLToPath(import.meta.url), ['--child', engine, '--probes', String(probes), '--seconds', String(seconds)]);
    const report = await new Promise<Report>((resolve) => child.once('message', (m) => resolve(m as Report)));
    const s = summarize(report.lateness);
    rows.push({
      engine,
      fires: report.fires,
      expected: report.expected,
      early: report.early,
      'lateness p50 ms': s.p50,
      'p99 ms': s.p99,
      'max ms': s.max,
      'CPU µs/fire': report.cpuMicros / Math.max(1, report.fires),
    });
  }
  console.log(table(rows));
  const ours = rows[0];
  const theirs = rows[1];
  if (ours && theirs) {
    console.log(`\ngoal: p99 < 5 ms, max < 10 ms, <= 10 µs CPU per fire, no missed or early fires`);
    console.log(`flowprobe vs node-cron: CPU per fire ${(Number(ours['CPU µs/fire']) / Number(theirs['CPU µs/fire'])).toFixed(2)}x, p99 lateness ${Number(ours['p99 ms']).toFixed(2)} ms vs ${Number(theirs['p99 ms']).toFixed(2)} ms`);
  }
}
