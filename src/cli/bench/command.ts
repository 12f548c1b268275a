/**
 * `wasmsocket bench URL`: a WebSocket load generator for echo servers. Worker threads (one per
 * core by default) each run a share of the connections on the protocol core and the codec;
 * frames are encoded once and reused as far as the masking mode allows (`frames.ts`). The
 * result is a summary table, optionally JSON (`BenchResult`), with the generator's own CPU
 * cost per message so a reader can tell whether it, rather than the server, was the limit.
 *
 * Ctrl+C (or SIGTERM) ends the run early: the time measured so far is reported.
 */
import { writeFile } from 'node:fs/promises';
import { CommandError, type CommandIo, ExitStatus, writeLine } from '../args.js';
import { BENCH_HELP, parseBenchArgs } from './options.js';
import { progressLine, renderSummary } from './report.js';
import { runBench } from './run.js';

export { BENCH_HELP } from './options.js';

/** Run `wasmsocket bench`; resolves to the exit status. */
export async function benchCommand(args: readonly string[], io: CommandIo): Promise<ExitStatus> {
  const options = parseBenchArgs(args);
  if (options === 'help') {
    io.stdout.write(BENCH_HELP);
    return ExitStatus.OK;
  }

  const stderr = io.stderr as NodeJS.WritableStream & { readonly isTTY?: boolean };
  const inPlace = stderr.isTTY === true;
  const showProgress = options.progress === 'always' || (options.progress === 'auto' && inPlace);
  let progressShown = false;
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let result;
  try {
    result = await runBench(options, {
      signal: abort.signal,
      onProgress: showProgress
        ? (progress) => {
            progressShown = true;
            if (inPlace) stderr.write(`\r\x1b[2K${progressLine(progress)}`);
            else writeLine(stderr, progressLine(progress));
          }
        : undefined,
    });
  } catch (error) {
    throw new CommandError(error instanceof Error ? error.message : String(error));
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    if (progressShown && inPlace) stderr.write('\r\x1b[2K');
  }

  if (options.jsonFile !== undefined) {
    try {
      await writeFile(options.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    } catch (error) {
      throw new CommandError(`cannot write ${options.jsonFile}: ${(error as Error).message}`);
    }
  }
  if (result.connections.opened === 0) {
    const [kind, tally] = Object.entries(result.errors.kinds)[0] ?? ['', { example: 'no connection opened' }];
    throw new CommandError(`cannot load ${options.url.href}: no connection could be opened (${kind === '' ? '' : `${kind}: `}${tally.example})`);
  }
  io.stdout.write(renderSummary(result));
  return result.errors.total > 0 ? ExitStatus.FAILURE : ExitStatus.OK;
}
