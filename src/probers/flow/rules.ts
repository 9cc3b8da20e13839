// The flow kind's rules across fields, which its schema alone cannot say: awaits name a
// watcher, legs are unique and exist, every {{…}} names something that exists when its step
// runs. The loader runs them (through the kinds table) and says where each problem is written.
import { problem, type KeyPath, type Problem } from '../../config/diagnostics.js';
import type { RawProbeOf } from '../kinds.js';

/** Problems across a flow's fields (partly valid while check reports other problems). */
export function flowRules(raw: Partial<RawProbeOf<'flow'>>): Problem[] {
  const problems: Problem[] = [];
  checkFlowNames(raw, problems);
  return problems;
}

/** A flow's awaits must name a watcher, and legs in expect.legs must exist. */
function checkFlowNames(raw: Partial<RawProbeOf<'flow'>>, problems: Problem[]): void {
  if (!raw.watch || !raw.steps) return;
  const watchers = raw.watch.map((w) => w.name);
  const legs = new Set<string>();
  raw.watch.forEach((w, i) => {
    if (watchers.indexOf(w.name) !== i) problems.push(problem.at(['watch', i, 'name'], `duplicate watcher name "${w.name}"`));
  });
  raw.steps.forEach((step, i) => {
    if ('await' in step) {
      legs.add(step.await.on);
      if (!watchers.includes(step.await.on)) {
        problems.push(problem.at(['steps', i, 'await', 'on'], `expected one of the watchers (${watchers.join(', ') || 'none defined'}), found "${step.await.on}"`));
      }
    }
    if ('poll' in step) {
      if (step.poll.name === 'inject' || legs.has(step.poll.name)) problems.push(problem.at(['steps', i, 'poll', 'name'], `expected a leg name of its own, found "${step.poll.name}" (${step.poll.name === 'inject' ? 'the injection\'s leg' : 'another leg'} has it)`));
      legs.add(step.poll.name);
    }
    if ('browser' in step) {
      if (step.browser.name === 'inject' || legs.has(step.browser.name) || watchers.includes(step.browser.name)) problems.push(problem.at(['steps', i, 'browser', 'name'], `expected a leg name of its own, found "${step.browser.name}" (another leg or watcher has it)`));
      legs.add(step.browser.name);
    }
    if ('inject' in step) legs.add('inject');
  });
  checkFlowTemplates(raw.steps, problems);
  for (const where of ['expect', 'degradeWhen'] as const) {
    for (const leg of Object.keys(raw[where]?.legs ?? {})) {
      if (!legs.has(leg)) problems.push(problem.atKey([where, 'legs', leg], `expected a leg of this flow (${[...legs].join(', ')}), found "${leg}"`));
    }
  }
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

/** Every {{…}} in a flow names something that exists when its step runs: {{run.id}}, or
 * {{capture.NAME}} of an earlier inject. A typo ({{run.idd}}) was sent as written; an await or a
 * poll with no inject before it waited for a marker nothing carried. */
function checkFlowTemplates(steps: ReadonlyArray<Record<string, unknown>>, problems: Problem[]): void {
  const captured = new Set<string>();
  let injected = false;
  steps.forEach((step, i) => {
    const [kind, body] = Object.entries(step)[0] ?? [];
    if ((kind === 'await' || kind === 'poll' || kind === 'browser') && !injected) problems.push(problem.at(['steps', i, kind], `expected an inject step before this ${kind} (nothing would carry the marker it waits for)`));
    for (const { keys, text } of stringsIn(body, ['steps', i, kind ?? ''])) {
      for (const [whole, name] of text.matchAll(PLACEHOLDER)) {
        const capture = /^capture\.([A-Za-z0-9_]+)$/.exec(name as string)?.[1];
        if (name === 'run.id' || (capture !== undefined && captured.has(capture))) continue;
        const known = captured.size ? `{{run.id}} or {{capture.${[...captured].join('}}, {{capture.')}}}` : '{{run.id}} (no inject before it captures anything)';
        problems.push(problem.at(keys, `expected ${known}, found "${whole}"`));
      }
    }
    if (kind === 'inject') {
      injected = true;
      for (const name of Object.keys((body as { capture?: Record<string, unknown> }).capture ?? {})) captured.add(name);
    }
  });
}

function stringsIn(value: unknown, keys: KeyPath, depth = 0): Array<{ keys: KeyPath; text: string }> {
  if (typeof value === 'string') return value.includes('{{') ? [{ keys, text: value }] : [];
  // Plain data only: compiled objects (patterns, JSON paths) hold no templates.
  if (depth > 32 || value === null || typeof value !== 'object' || (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype)) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, [...keys, i], depth + 1));
  return Object.entries(value).flatMap(([k, v]) => [...stringsIn(k, [...keys, k], depth + 1), ...stringsIn(v, [...keys, k], depth + 1)]);
}
