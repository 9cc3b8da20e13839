// JSON Schemas for config/flowprobe.yaml and probes/*.yaml, generated from the same zod schemas
// that validate them, so editors complete exactly what the daemon accepts (npm run schema).
import { z } from 'zod';
import { daemonConfigSchema, probeSchema } from './schema.js';

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return rest;
}

export function jsonSchemas(): Record<'flowprobe.schema.json' | 'probe.schema.json', unknown> {
  const probe = toJsonSchema(probeSchema);
  return {
    'flowprobe.schema.json': { $schema: DRAFT, title: 'flowprobe daemon config', ...toJsonSchema(daemonConfigSchema) },
    'probe.schema.json': { $schema: DRAFT, title: 'flowprobe probe file: one probe, or a list of probes', anyOf: [probe, { type: 'array', items: probe }] },
  };
}
