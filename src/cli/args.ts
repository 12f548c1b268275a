/**
 * What every command shares: the streams it talks through, usage errors, exit statuses, and
 * argument parsing with `node:util` `parseArgs` (strict: an unknown option or a stray argument
 * is a usage error, never silently ignored).
 */

/** Exit statuses of every command. */
export const ExitStatus = {
  OK: 0,
  /** The server or the connection failed (port in use, host unreachable, handshake rejected, …). */
  FAILURE: 1,
  /** The command line was wrong: an unknown option, a missing or malformed argument. */
  USAGE: 2,
} as const;
export type ExitStatus = (typeof ExitStatus)[keyof typeof ExitStatus];

/** The process streams a command reads and writes, so tests and embedders can give others. */
export interface CommandIo {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
}

/** The command line was wrong; `message` says how, and the command's help follows it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command failed at run time; `message` says what happened, for the user. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/**
 * Run `parse` (a strict `parseArgs` call) with its errors (unknown option, missing value,
 * unexpected argument) turned into `UsageError`s.
 */
export function parseCommandLine<Parsed>(parse: () => Parsed): Parsed {
  try {
    return parse();
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS_')) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

/** Write `line` and a newline. */
export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(`${line}\n`);
}
