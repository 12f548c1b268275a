/**
 * Corpus directories: one file per input, named by the first 16 hex digits of its SHA-1, so
 * that the same input is never stored twice and names are stable across runs.
 *
 * fuzz/corpus/<target>/       inputs that reached new coverage (committed, kept minimal)
 * fuzz/regressions/<target>/  inputs that once broke an oracle, fixed since (committed)
 * fuzz/crashes/<target>/      inputs that break an oracle now, each with a .txt saying how
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file name an input is stored under. */
export function inputName(input: Uint8Array): string {
  return `${createHash('sha1').update(input).digest('hex').slice(0, 16)}.bin`;
}

/** Every input in `directory` (none if it does not exist), smallest first, with their paths. */
export function readInputs(directory: string): Array<{ path: string; input: Uint8Array }> {
  let names: string[];
  try {
    names = readdirSync(directory).filter((name) => name.endsWith('.bin'));
  } catch {
    return [];
  }
  return names
    .sort()
    .map((name) => ({ path: join(directory, name), input: new Uint8Array(readFileSync(join(directory, name))) }))
    .sort((a, b) => a.input.length - b.input.length);
}

/** Store `input` in `directory` (made if missing); with `note`, a .txt beside it. Returns its path. */
export function writeInput(directory: string, input: Uint8Array, note?: string): string {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, inputName(input));
  writeFileSync(path, input);
  if (note !== undefined) writeFileSync(path.replace(/\.bin$/, '.txt'), `${note}\n`);
  return path;
}

/** Delete a stored input (and its note). */
export function removeInput(path: string): void {
  rmSync(path, { force: true });
  rmSync(path.replace(/\.bin$/, '.txt'), { force: true });
}
