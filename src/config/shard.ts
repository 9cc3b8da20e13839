// Sharding: N daemons split the probes between them, each probe to exactly one, by rendezvous
// (highest random weight) hashing of the probe's name. Growing from N to N+1 shards moves only
// the ~1/(N+1) of the probes the new shard wins; nothing moves between the old ones. Shards are
// numbered from 0, like Prometheus's hashmod and a StatefulSet's pod ordinals.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { count } from './fields.js';

export interface Shard {
  index: number;
  count: number;
}

export const MAX_SHARDS = 1000;
export const NO_SHARDING: Shard = { index: 0, count: 1 };

export const shardSchema = z
  .strictObject({ index: count(0, MAX_SHARDS - 1), count: count(1, MAX_SHARDS) })
  .refine((s) => s.index < s.count, { error: 'expected index below count (shards are numbered from 0)', path: ['index'] })
  .default(NO_SHARDING);

/** "2/5" (FLOWPROBE_SHARD): shard 2 of 5; undefined when it is not that shape or out of range. */
export function parseShard(text: string): Shard | undefined {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  if (!m) return undefined;
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  return shard.count >= 1 && shard.count <= MAX_SHARDS && shard.index < shard.count ? shard : undefined;
}

/** The shard (0…count-1) that runs this probe: the one with the highest weight for its name. */
export function ownerOf(probe: string, shards: number): number {
  let best = 0;
  let bestWeight = -1n;
  for (let i = 0; i < shards; i++) {
    const weight = createHash('sha256').update(`${i}\u0000${probe}`).digest().readBigUInt64BE(0);
    if (weight > bestWeight) (best = i), (bestWeight = weight);
  }
  return best;
}
