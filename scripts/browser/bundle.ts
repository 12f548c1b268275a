/**
 * Bundling TypeScript for pages and workers with esbuild's API, in memory: the package's web
 * entry as an ES module and as a classic script (an IIFE that defines `self.wasmsocket`, for
 * `importScripts`), and test or benchmark code.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How to bundle one entry. */
export interface BundleOptions {
  /** `esm` for module scripts and module workers; `iife` for classic scripts and `importScripts`. */
  readonly format: 'esm' | 'iife';
  /** With `iife`: the global the entry's exports are assigned to. */
  readonly globalName?: string;
  /** Module specifiers to replace (e.g. `vitest` by the in-browser test harness). */
  readonly alias?: Readonly<Record<string, string>>;
  /** Minify (as a published bundle would be). Default false. */
  readonly minify?: boolean;
  /**
   * Keep imports made only for their side effects (test files that register tests), which the
   * package's `"sideEffects": false` would otherwise let the bundler drop. Default false.
   */
  readonly keepSideEffectImports?: boolean;
}

/** Bundle `entry` (a path from the repository root) and return the code. */
export async function bundle(entry: string, options: BundleOptions): Promise<string> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: options.format,
    globalName: options.globalName,
    alias: options.alias ? { ...options.alias } : undefined,
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? false,
    ignoreAnnotations: options.keepSideEffectImports ?? false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** The web entry (`src/web.ts`) as the package ships it to pages: an ES module. */
export function bundleWebModule(): Promise<string> {
  return bundle('src/web.ts', { format: 'esm', minify: true });
}

/** The web entry as a classic script that defines `self.wasmsocket` (for `importScripts`). */
export function bundleWebClassicScript(): Promise<string> {
  return bundle('src/web.ts', { format: 'iife', globalName: 'wasmsocket', minify: true });
}
