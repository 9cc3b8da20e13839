// "did you mean …?" for an unknown key: the keys the schema allows at that place (read from the
// JSON Schema the validating schema generates, across every alternative of a union), the nearest
// one by spelling, by case or separators, or by what other monitors call it.
import { z } from 'zod';

type JsonSchema = { const?: unknown; enum?: unknown[]; properties?: Record<string, JsonSchema>; items?: JsonSchema; prefixItems?: JsonSchema[]; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; allOf?: JsonSchema[]; additionalProperties?: JsonSchema | boolean };

/** Names other tools (Gatus, blackbox_exporter, Uptime Kuma, Prometheus) use for our keys. */
const SYNONYMS: Record<string, string[]> = {
  interval: ['every'],
  period: ['every'],
  frequency: ['every'],
  schedule: ['every', 'cron'],
  endpoint: ['url'],
  target: ['url'],
  address: ['url', 'listen'],
  conditions: ['expect'],
  assertions: ['expect'],
  expected: ['expect'],
  expectations: ['expect'],
  header: ['headers'],
  status: ['status', 'statuses'],
  statuscode: ['status'],
  statuscodes: ['status'],
  validstatuscodes: ['status'],
  retries: ['failAfter'],
  threshold: ['failAfter', 'threshold'],
  failurethreshold: ['failAfter'],
  successthreshold: ['recoverAfter'],
  alerts: ['alerting'],
  notifiers: ['receivers'],
  notifications: ['receivers'],
  silences: ['maintenance'],
  type: ['kind'],
  token: ['auth', 'apiToken'],
  bind: ['listen'],
  port: ['listen', 'port'],
  data: ['stateDir'],
  datadir: ['stateDir'],
  probes: ['probesDir'],
};

const cache = new WeakMap<z.ZodType, JsonSchema>();

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  let json = cache.get(schema);
  if (!json) {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    cache.set(schema, json);
  }
  return json;
}

/** Every object schema at `path` (through unions and arrays). A union of kinds keeps only the
 * branch of the value's own `kind`: a key of another kind is not a suggestion for this one. */
function nodesAt(node: JsonSchema, path: ReadonlyArray<string | number>, value: unknown): JsonSchema[] {
  const branches = [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])].filter((branch) => sameKind(branch, value));
  if (branches.length > 0) return [...plain(node, path, value), ...branches.flatMap((branch) => nodesAt(branch, path, value))];
  return plain(node, path, value);
}

function sameKind(branch: JsonSchema, value: unknown): boolean {
  const kind = branch.properties?.kind;
  const given = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).kind : undefined;
  if (!kind || given === undefined) return true;
  return kind.const !== undefined ? kind.const === given : kind.enum ? kind.enum.includes(given) : true;
}

function plain(node: JsonSchema, path: ReadonlyArray<string | number>, value: unknown): JsonSchema[] {
  if (path.length === 0) return [node];
  const [head, ...rest] = path;
  const inner = typeof value === 'object' && value !== null ? (value as Record<string | number, unknown>)[head as string | number] : undefined;
  if (typeof head === 'number') {
    const item = node.prefixItems?.[head] ?? node.items;
    return item ? nodesAt(item, rest, inner) : [];
  }
  const child = node.properties?.[head as string] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
  return child ? nodesAt(child, rest, inner) : [];
}

const normal = (key: string) => key.toLowerCase().replace(/[-_\s]/g, '');

/** Edit distance with transpositions (a swapped pair is one edit). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((d[i - 1] as number[])[j]! + 1, (d[i] as number[])[j - 1]! + 1, (d[i - 1] as number[])[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (d[i - 2] as number[])[j - 2]! + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The key the user most likely meant at `path` (relative to `schema`'s root, where `value` was
 * validated), if one is close. */
export function suggestKey(schema: z.ZodType, value: unknown, path: ReadonlyArray<string | number>, unknown: string): string | undefined {
  const allowed = [...new Set(nodesAt(jsonSchemaOf(schema), path, value).flatMap((node) => Object.keys(node.properties ?? {})))];
  if (allowed.length === 0 || unknown.length > 100) return undefined;
  const wanted = normal(unknown);
  const same = allowed.find((key) => normal(key) === wanted);
  if (same) return same;
  const synonym = SYNONYMS[wanted]?.find((key) => allowed.includes(key));
  if (synonym) return synonym;
  const scored = allowed.map((key) => ({ key, d: distance(wanted, normal(key)) })).sort((a, b) => a.d - b.d || a.key.localeCompare(b.key));
  const best = scored[0];
  return best && best.d <= Math.max(1, Math.floor(wanted.length / 4)) ? best.key : undefined;
}
