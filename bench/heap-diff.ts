// Compares two V8 heap snapshots (.heapsnapshot) by what holds the memory: per constructor or
// node name, how many objects and how many bytes (self size) each snapshot has, biggest growth
// first. A slow leak shows as a name whose count climbs with the run's length.
//   node dist/bench/heap-diff.js early.heapsnapshot late.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { arg, table } from './lib.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

function summarise(file: string): { groups: Map<string, Group>; totalBytes: number } {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const groups = new Map<string, Group>();
  let totalBytes = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] ?? 0] ?? '?';
    const size = snap.nodes[i + sizeAt] ?? 0;
    totalBytes += size;
    // Strings and code are grouped by type (their names are their contents); objects by name.
    const key = type === 'object' || type === 'closure' || type === 'native' ? `${type}:${snap.strings[snap.nodes[i + nameAt] ?? 0]}` : type;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += size;
    groups.set(key, group);
  }
  return { groups, totalBytes };
}

const [fileA, fileB] = process.argv.slice(2).filter((a) => !a.startsWith('--') && !/^\d+$/.test(a));
if (!fileA || !fileB) {
  console.error('usage: heap-diff EARLY.heapsnapshot LATE.heapsnapshot [--top 25]');
  process.exit(2);
}
const top = arg('top', 25);
const a = summarise(fileA);
const b = summarise(fileB);
const keys = new Set([...a.groups.keys(), ...b.groups.keys()]);
const rows = [...keys]
  .map((key) => {
    const x = a.groups.get(key) ?? { count: 0, bytes: 0 };
    const y = b.groups.get(key) ?? { count: 0, bytes: 0 };
    return { name: key.slice(0, 60), 'count A': x.count, 'count B': y.count, 'KB A': x.bytes / 1024, 'KB B': y.bytes / 1024, 'Δ KB': (y.bytes - x.bytes) / 1024 };
  })
  .sort((p, q) => Math.abs(q['Δ KB']) - Math.abs(p['Δ KB']))
  .slice(0, top);
console.log(`heap A ${(a.totalBytes / 1e6).toFixed(1)} MB, heap B ${(b.totalBytes / 1e6).toFixed(1)} MB (after the GC each snapshot forces)\n`);
console.log(table(rows));
