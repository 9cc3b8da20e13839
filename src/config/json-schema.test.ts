import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { jsonSchemas } from './json-schema.js';

it('the published JSON Schemas in schema/ match the validating schemas (run npm run schema)', () => {
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    const published = JSON.parse(readFileSync(new URL(`../../../schema/${name}`, import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(published, JSON.parse(JSON.stringify(schema)), `schema/${name} is stale`);
  }
});
