// Where a config problem is and what was expected: "probes/api.yaml:3:7 expect.status: expected …, found …".
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import type { z } from 'zod';

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Dotted key path inside the file, "" for the whole file. */
  key: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  return d.key === '' ? `${where} ${d.message}` : `${where} ${d.key}: ${d.message}`;
}

/** File names relative to the working directory when they are below it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  // The working directory itself (-c .) has no relative name: say the path.
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

export type KeyPath = ReadonlyArray<string | number>;

export function formatKeyPath(keys: KeyPath): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? key : `.${key}`;
  }
  return out;
}

/** A parsed YAML file that can point at the node behind any key path. */
export class SourceMap {
  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The deepest node that exists along `keys`, and whether it is the node itself. */
  private locate(keys: KeyPath): { node: Node | undefined; exact: boolean; keyNode: Node | undefined } {
    let node = this.doc.contents as Node | null;
    let keyNode: Node | undefined;
    for (const key of keys) {
      const child = childOf(node, key);
      if (!child) return { node: node ?? undefined, exact: false, keyNode };
      ({ node, keyNode } = child);
    }
    return { node: node ?? undefined, exact: true, keyNode };
  }

  at(keys: KeyPath, message: string): Diagnostic {
    const { node } = this.locate(keys);
    return this.diagnostic(node, keys, message);
  }

  /** Points at the key itself (for unknown or duplicate keys). */
  atKey(keys: KeyPath, message: string): Diagnostic {
    const { node, keyNode, exact } = this.locate(keys);
    return this.diagnostic(exact ? (keyNode ?? node) : node, keys, message);
  }

  diagnostic(node: Node | undefined, keys: KeyPath, message: string): Diagnostic {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col, key: formatKeyPath(keys), message };
  }

  /** What the file says at `keys`, as written (so an interpolated secret is never shown). */
  found(keys: KeyPath): string {
    const { node, exact } = this.locate(keys);
    if (!exact || !node) return 'nothing';
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    const range = node.range;
    const source = range ? this.text.slice(range[0], range[1]).trim() : String((node as { value?: unknown }).value);
    const shown = source.length > 60 ? `${source.slice(0, 57)}...` : source;
    if (isScalar(node) && typeof node.value === 'string' && !/^["']/.test(shown)) return JSON.stringify(shown);
    return shown;
  }
}

function childOf(node: Node | null, key: string | number): { node: Node | null; keyNode: Node | undefined } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
    return pair ? { node: (pair.value as Node | null) ?? null, keyNode: pair.key as Node } : undefined;
  }
  if (isSeq(node) && typeof key === 'number') {
    const item = node.items[key] as Node | undefined;
    return item ? { node: item, keyNode: undefined } : undefined;
  }
  return undefined;
}


/** Our wording for zod's built-in checks: "expected …" (the loader adds "found …"). */
export function zodMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${article(issue.expected)}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${issue.minimum} item(s)`
        : issue.origin === 'string'
          ? `expected at least ${issue.minimum} character(s)`
          : `expected a value of at least ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array' || issue.origin === 'string'
        ? `expected at most ${issue.maximum} ${issue.origin === 'array' ? 'item(s)' : 'character(s)'}`
        : `expected a value of at most ${issue.maximum}`;
    case 'invalid_value':
      return `expected one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `expected ${issue.format === 'regex' ? 'a value in the documented format' : issue.format}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'a whole number';
    case 'integer':
      return 'a whole number';
    default:
      return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
  }
}


/** A problem a kind's own rules found (src/probers/<kind>/rules.ts), at a key path relative to
 * the probe: the loader says where it is written. */
export interface Problem {
  path: KeyPath;
  message: string;
  /** Point at the key itself rather than its value. */
  atKey?: boolean;
}

export const problem = {
  at: (path: KeyPath, message: string): Problem => ({ path, message }),
  atKey: (path: KeyPath, message: string): Problem => ({ path, message, atKey: true }),
};
