/**
 * The core runs unchanged in Node, a page and a worker: its sources import nothing from
 * node:*, no concrete codec, no adapter, and touch no platform global (timers, crypto,
 * process, Buffer). Checked by reading the files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const srcRoot = join(import.meta.dirname, '../../src');
const root = join(srcRoot, 'protocol');
/** Every source of the core, its extensions (permessage-deflate) included. */
const sources = (readdirSync(root, { recursive: true }) as string[])
  .filter((name) => name.endsWith('.ts'))
  .map((name) => ({ name, text: readFileSync(join(root, name), 'utf8') }));

/** What the core may import, as paths under src/ once resolved. */
const ALLOWED_IMPORTS = [
  /^protocol\/[a-z/-]+\.js$/,
  /^shared\/[a-z-]+\.js$/,
  /^handshake\/[a-z-]+\.js$/,
  /^codec\/(types|errors|mask-key-pool)\.js$/,
];

/** `specifier` as imported from `file` (relative to src/protocol), as a path under src/. */
function underSrc(file: string, specifier: string): string {
  return relative(srcRoot, resolve(root, dirname(file), specifier)).split('\\').join('/');
}

const FORBIDDEN_GLOBALS = /\b(setTimeout|setInterval|setImmediate|queueMicrotask|process\.|Buffer\b|globalThis|crypto\.|require\(|performance\.|Date\.now|window\.|self\.)/;

/** Code without comments, so prose that names a global does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

describe('the protocol core is platform-neutral', () => {
  it('has sources to check', () => {
    expect(sources.map((s) => s.name)).toContain('connection.ts');
  });

  it.each(sources.map((s) => [s.name, s.text]))('%s imports nothing from node:* and only the allowed layers', (name, text) => {
    const specifiers = [...code(text).matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    expect(specifiers.filter((s) => !s.startsWith('.'))).toEqual([]);
    expect(specifiers.filter((s) => !ALLOWED_IMPORTS.some((pattern) => pattern.test(underSrc(name, s))))).toEqual([]);
    expect(code(text)).not.toMatch(/import\(/);
  });

  it.each(sources.map((s) => [s.name, s.text]))('%s uses no platform global (timers, crypto, process, Buffer)', (_name, text) => {
    expect(code(text)).not.toMatch(FORBIDDEN_GLOBALS);
  });
});
