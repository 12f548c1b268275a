/**
 * The core runs unchanged in Node, a page and a worker: its sources import nothing from
 * node:*, no concrete codec, no adapter, and touch no platform global (timers, crypto,
 * process, Buffer). Checked by reading the files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../src/protocol');
const sources = readdirSync(root)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => ({ name, text: readFileSync(join(root, name), 'utf8') }));

/** What the core may import (relative to src/protocol/). */
const ALLOWED_IMPORTS = [
  /^\.\/[a-z-]+\.js$/,
  /^\.\.\/shared\/[a-z-]+\.js$/,
  /^\.\.\/handshake\/[a-z-]+\.js$/,
  /^\.\.\/codec\/(types|errors|mask-key-pool)\.js$/,
];

const FORBIDDEN_GLOBALS = /\b(setTimeout|setInterval|setImmediate|queueMicrotask|process\.|Buffer\b|globalThis|crypto\.|require\(|performance\.|Date\.now|window\.|self\.)/;

/** Code without comments, so prose that names a global does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

describe('the protocol core is platform-neutral', () => {
  it('has sources to check', () => {
    expect(sources.map((s) => s.name)).toContain('connection.ts');
  });

  it.each(sources.map((s) => [s.name, s.text]))('%s imports nothing from node:* and only the allowed layers', (_name, text) => {
    const specifiers = [...code(text).matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    expect(specifiers.filter((s) => s.startsWith('node:'))).toEqual([]);
    expect(specifiers.filter((s) => !ALLOWED_IMPORTS.some((pattern) => pattern.test(s)))).toEqual([]);
    expect(code(text)).not.toMatch(/import\(/);
  });

  it.each(sources.map((s) => [s.name, s.text]))('%s uses no platform global (timers, crypto, process, Buffer)', (_name, text) => {
    expect(code(text)).not.toMatch(FORBIDDEN_GLOBALS);
  });
});
