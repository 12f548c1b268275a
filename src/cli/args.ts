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

/** An RFC 7230 token: what a header field name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `text` as a ws: or wss: URL (http: and https: are accepted and mapped, as browsers do). */
export function parseWebSocketUrlArgument(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`invalid URL "${text}": expected something like ws://127.0.0.1:8080/echo`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new UsageError(`invalid URL "${text}": the scheme must be ws: or wss:, not ${url.protocol}`);
  }
  if (url.hash !== '') throw new UsageError(`invalid URL "${text}": a WebSocket URL has no fragment (RFC 6455 §3)`);
  return url;
}

/** `Name: value` header arguments as an object (repeated names joined, whatever their case, RFC 7230 §3.2.2). */
export function parseHeaderArguments(headers: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const header of headers) {
    const colon = header.indexOf(':');
    const name = colon === -1 ? '' : header.slice(0, colon).trim();
    if (!TOKEN.test(name)) throw new UsageError(`--header must look like "Name: value", not "${header}"`);
    const value = header.slice(colon + 1).trim();
    // Field names are case-insensitive (RFC 7230 §3.2): a repeated one is joined into one list.
    const existing = Object.keys(result).find((known) => known.toLowerCase() === name.toLowerCase());
    if (existing === undefined) result[name] = value;
    else result[existing] = `${result[existing]}, ${value}`;
  }
  return result;
}
