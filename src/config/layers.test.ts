// The house's layers, read from the import statements of the TypeScript sources: the
// vocabulary every kind uses (durations, sizes, regexes, JSON paths, assertions, limits, TLS
// settings, diagnostics) sits on a floor below the kinds and never imports from them, type
// imports included; a kind's folder never imports another kind's.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const FLOOR = ['config/units.ts', 'config/fields.ts', 'config/probe-fields.ts', 'config/assertions.ts', 'config/diagnostics.ts', 'config/files.ts'];
const KINDS = readdirSync(path.join(SRC, 'probers'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

/** The files a source file imports, as paths under src/ (relative imports only). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(SRC, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => path.relative(SRC, path.resolve(path.dirname(path.join(SRC, file)), (m[1] as string).replace(/\.js$/, '.ts'))));
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(path.join(SRC, dir), { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sourcesUnder(path.join(dir, d.name)) : d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [path.join(dir, d.name)] : []));
}

it('the vocabulary floor imports nothing from the probers, and a kind nothing from another kind', () => {
  assert.ok(KINDS.length >= 5, `kind folders found: ${KINDS.join(', ')}`);
  const arrows: string[] = [];
  for (const file of FLOOR) {
    for (const target of importsOf(file)) if (target.startsWith('probers/')) arrows.push(`${file} → ${target}`);
  }
  for (const kind of KINDS) {
    for (const file of sourcesUnder(path.join('probers', kind))) {
      for (const target of importsOf(file)) {
        const other = KINDS.find((k) => k !== kind && target.startsWith(`probers/${k}/`));
        if (other) arrows.push(`${file} → ${target}`);
      }
    }
  }
  assert.deepEqual(arrows, []);
});
