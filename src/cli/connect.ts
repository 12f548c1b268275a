/**
 * `wasmsocket connect URL`: an interactive client. Each line read from stdin is sent as a text
 * message and each message received is printed; lines starting with "/" are commands (ping,
 * pong, close). It works the same with a terminal and with piped stdin: when stdin ends it
 * closes the connection (1000) and exits once the closing handshake is over.
 *
 * Output, one line per event. stdout carries only the messages the server sends, so it can be
 * piped:
 *
 *   < a text message
 *   < binary, 5 bytes: 68 65 6c 6c 6f
 *
 * and stderr the status of the connection, control frames, the answers to commands and every
 * error:
 *
 *   connected to ws://127.0.0.1:8080/echo (subprotocol: chat)
 *   < ping: payload
 *   < pong: payload
 *   closed: 1000 done
 *
 * The exit status is 0 after a closing handshake, 1 when the connection failed or was lost
 * (close 1006), 2 on a usage error.
 */
import { createInterface, type Interface } from 'node:readline';
import { parseArgs } from 'node:util';
import { WebSocket } from '../node.js';
import { CommandError, type CommandIo, ExitStatus, parseCommandLine, parseHeaderArguments, parseWebSocketUrlArgument, UsageError, writeLine } from './args.js';

/**
 * Seconds to keep listening after stdin ends, before closing: replies to the last lines are
 * usually on their way, and a server may drop them once it sees the close.
 */
export const DEFAULT_WAIT_SECONDS = 0.5;

/** `wasmsocket connect --help`. */
export const CONNECT_HELP = `Usage: wasmsocket connect <url> [options]

Connect to a WebSocket server (ws:// or wss://). Each line you type (or pipe in) is sent as a
text message; every message received is printed. When stdin ends (or at Ctrl+D), it waits
for late replies (--wait), closes the connection normally and exits once the server answers.

Lines starting with "/" are commands:
  /ping [data]            send a ping; the pong is printed
  /pong [data]            send an unsolicited pong
  /close [code [reason]]  close the connection (default code 1000)
  //text                  send "/text" as a text message
  /help                   list these commands

Options:
  -s, --subprotocol <name>    offer a subprotocol (repeatable, in order of preference)
  -H, --header <Name: value>  add a header to the opening request (repeatable)
  -o, --origin <origin>       send this Origin header
  -w, --wait <seconds>        after stdin ends, wait this long for replies before
                              closing (default ${DEFAULT_WAIT_SECONDS})
  -k, --insecure              accept any TLS certificate (wss: to a server with a
                              self-signed or otherwise unverifiable one)
  -h, --help                  show this help

Received messages are printed on stdout as "< text"; binary ones as their size and bytes
in hex. Status lines ("connected to …", "closed: 1000 …"), pings and pongs received, the
output of commands and errors go to stderr, so stdout can be piped:
  wasmsocket connect ws://127.0.0.1:8080/echo < requests.txt > replies.txt
Exit status: 0 after a clean close, 1 if the connection failed or was lost, 2 on a usage error.
`;

const COMMANDS_HELP = `commands: /ping [data], /pong [data], /close [code [reason]], //text sends "/text", /help`;

/** How many bytes of a binary message are shown in hex. */
const HEX_PREVIEW_BYTES = 64;

/** What to connect to, and how. */
export interface ConnectOptions {
  readonly url: URL;
  readonly subprotocols: string[];
  readonly headers: Record<string, string>;
  readonly origin: string | undefined;
  /** How long to keep listening after stdin ends before closing, in milliseconds. */
  readonly waitMs: number;
  /** Accept any TLS certificate. */
  readonly insecure: boolean;
}

/** Parse `connect`'s arguments. */
export function parseConnectArgs(args: readonly string[]): ConnectOptions | 'help' {
  const { values, positionals } = parseCommandLine(() =>
    parseArgs({
      args: [...args],
      options: {
        subprotocol: { type: 'string', short: 's', multiple: true },
        header: { type: 'string', short: 'H', multiple: true },
        origin: { type: 'string', short: 'o' },
        wait: { type: 'string', short: 'w', default: String(DEFAULT_WAIT_SECONDS) },
        insecure: { type: 'boolean', short: 'k' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (values.help === true) return 'help';
  if (positionals.length === 0) throw new UsageError('missing the URL to connect to');
  if (positionals.length > 1) throw new UsageError(`expected one URL, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  const url = parseWebSocketUrlArgument(positionals[0]!);
  const headers = parseHeaderArguments(values.header ?? []);
  const wait = Number(values.wait);
  if (values.wait.trim() === '' || !Number.isFinite(wait) || wait < 0) throw new UsageError(`--wait must be a number of seconds, not "${values.wait}"`);
  return {
    url,
    subprotocols: values.subprotocol ?? [],
    headers,
    origin: values.origin,
    waitMs: Math.round(wait * 1000),
    insecure: values.insecure === true,
  };
}

/** A connection failure, in words. */
function describeConnectError(error: Error & { code?: string; status?: number }, url: URL): string {
  const where = url.host;
  if (typeof error.status === 'number' && error.status !== 0) return `the server rejected the handshake with HTTP ${error.status}: ${error.message}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where}: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to ${where}: host ${url.hostname} not found`;
    case 'ETIMEDOUT':
      return `cannot connect to ${where}: timed out`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot connect to ${where}: host unreachable`;
    case 'ECONNRESET':
      return `the connection to ${where} was reset`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `cannot connect to ${where}: ${error.message} (-k/--insecure accepts any certificate)`;
    default:
      return `cannot connect to ${where}: ${error.message}`;
  }
}

/** A received binary message as one line: its size and its first bytes in hex. */
function describeBinary(data: Buffer): string {
  const shown = data.subarray(0, HEX_PREVIEW_BYTES).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  const more = data.length > HEX_PREVIEW_BYTES ? ' …' : '';
  return `binary, ${data.length} byte${data.length === 1 ? '' : 's'}${data.length > 0 ? `: ${shown}${more}` : ''}`;
}

/** Read a 'message' event's data (Buffer, ArrayBuffer or Buffer[]) as one Buffer. */
function messageBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/** An interactive session over an open connection. */
class Session {
  readonly #ws: WebSocket;
  readonly #io: CommandIo;
  readonly #lines: Interface;
  readonly #interactive: boolean;
  readonly #waitMs: number;
  #waitTimer: NodeJS.Timeout | null = null;

  constructor(ws: WebSocket, io: CommandIo, waitMs: number) {
    this.#ws = ws;
    this.#io = io;
    this.#waitMs = waitMs;
    this.#interactive = io.stdin.isTTY === true && io.stdout.isTTY === true;
    this.#lines = createInterface({ input: io.stdin, output: this.#interactive ? io.stdout : undefined, terminal: this.#interactive });
    this.#lines.setPrompt('> ');
    this.#lines.on('line', (line) => this.#onLine(line));
    // stdin ended (or Ctrl+D): after the wait, close normally; the command ends when the
    // close completes.
    this.#lines.on('close', () => {
      this.#waitTimer = setTimeout(() => this.#closeConnection(1000, ''), this.#waitMs);
    });
    // Ctrl+C at the terminal: the same, and a second one cuts the connection.
    this.#lines.on('SIGINT', () => this.interrupt());
    if (this.#interactive) this.#lines.prompt();
  }

  /** Print what the server sent (stdout) without breaking the line being typed. */
  print(line: string): void {
    this.#show(this.#io.stdout, line);
  }

  /** Print a status line or a command's answer (stderr) without breaking the line being typed. */
  status(line: string): void {
    this.#show(this.#io.stderr, line);
  }

  /** Report a local mistake (a bad command) and carry on. */
  complain(message: string): void {
    this.status(`error: ${message}`);
  }

  #show(stream: NodeJS.WritableStream, line: string): void {
    if (this.#interactive) {
      // The prompt is on stdout; both streams are the terminal here.
      this.#io.stdout.write('\r\x1b[2K');
      writeLine(stream, line);
      this.#lines.prompt(true);
    } else {
      writeLine(stream, line);
    }
  }

  /** SIGINT: close normally; if already closing, cut the connection. */
  interrupt(): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#closeConnection(1000, '');
    else this.#ws.terminate();
  }

  /** The connection is closed: print the status `line` (in place of the prompt) and stop reading stdin. */
  end(line: string): void {
    if (this.#waitTimer !== null) clearTimeout(this.#waitTimer);
    if (this.#interactive) this.#io.stdout.write('\r\x1b[2K');
    writeLine(this.#io.stderr, line);
    this.#lines.removeAllListeners('close');
    this.#lines.close();
  }

  #onLine(line: string): void {
    try {
      if (line.startsWith('//')) this.#send(line.slice(1));
      else if (line.startsWith('/')) this.#runCommand(line);
      else this.#send(line);
    } catch (error) {
      this.complain(error instanceof Error ? error.message : String(error));
    }
  }

  #send(text: string): void {
    if (this.#ws.readyState !== WebSocket.OPEN) throw new CommandError('the connection is closing; nothing more can be sent');
    const below = this.#ws.send(text) as unknown;
    if (below === false) {
      // The socket's buffer is full: stop reading stdin until it drains.
      this.#lines.pause();
      this.#ws.once('drain', () => this.#lines.resume());
    }
  }

  #runCommand(line: string): void {
    const [command = '', ...words] = line.slice(1).split(' ');
    const rest = line.slice(1 + command.length + 1);
    switch (command) {
      case 'ping':
        this.#ws.ping(rest);
        break;
      case 'pong':
        this.#ws.pong(rest);
        break;
      case 'close': {
        const code = words[0] === undefined || words[0] === '' ? 1000 : Number(words[0]);
        if (!Number.isInteger(code)) throw new CommandError(`/close takes a numeric code, not "${words[0]}"`);
        this.#closeConnection(code, words.slice(1).join(' '));
        break;
      }
      case 'help':
        this.status(COMMANDS_HELP);
        break;
      default:
        throw new CommandError(`unknown command /${command} (${COMMANDS_HELP})`);
    }
  }

  #closeConnection(code: number, reason: string): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(code, reason);
  }
}

/** Where the session's lines go: what the server sent, and status lines. */
interface Printer {
  print(line: string): void;
  status(line: string): void;
}

/**
 * Open the connection, printing what it receives from the first moment (messages may arrive
 * together with the handshake's response); rejects with a `CommandError` saying why it could
 * not connect.
 */
function open(options: ConnectOptions, out: Printer): Promise<WebSocket> {
  const print = (line: string): void => out.print(line);
  let ws: WebSocket;
  try {
    ws = new WebSocket(options.url, options.subprotocols, {
      headers: options.headers,
      origin: options.origin,
      ...(options.insecure ? { rejectUnauthorized: false } : {}),
    });
  } catch (error) {
    // The client validates what the command line cannot (a subprotocol's characters, a header value).
    return Promise.reject(new UsageError(error instanceof Error ? error.message : String(error)));
  }
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const bytes = messageBytes(data);
    print(`< ${isBinary ? describeBinary(bytes) : bytes.toString('utf8')}`);
  });
  ws.on('ping', (data: Buffer) => out.status(`< ping${data.length > 0 ? `: ${data.toString('utf8')}` : ''}`));
  ws.on('pong', (data: Buffer) => out.status(`< pong${data.length > 0 ? `: ${data.toString('utf8')}` : ''}`));
  return new Promise((resolve, reject) => {
    const failed = (error: Error): void => {
      ws.off('open', opened);
      reject(new CommandError(describeConnectError(error, options.url)));
    };
    const opened = (): void => {
      ws.off('error', failed);
      out.status(`connected to ${options.url.href}${ws.protocol === '' ? '' : ` (subprotocol: ${ws.protocol})`}`);
      resolve(ws);
    };
    ws.once('error', failed);
    ws.once('open', opened);
  });
}

/** Run `wasmsocket connect`; resolves to the exit status once the connection is closed. */
export async function connectCommand(args: readonly string[], io: CommandIo): Promise<ExitStatus> {
  const options = parseConnectArgs(args);
  if (options === 'help') {
    io.stdout.write(CONNECT_HELP);
    return ExitStatus.OK;
  }
  // Until the session exists (the connection is open), print plainly.
  let out: Printer = { print: (line) => writeLine(io.stdout, line), status: (line) => writeLine(io.stderr, line) };
  const ws = await open(options, { print: (line) => out.print(line), status: (line) => out.status(line) });
  const session = new Session(ws, io, options.waitMs);
  out = session;
  ws.on('error', (error: Error) => session.status(`error: ${error.message}`));
  const onSignal = (): void => session.interrupt();
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return new Promise((resolve) => {
    ws.once('close', (code: number, reason: Buffer) => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      const lost = code === 1006;
      const text = reason.toString('utf8');
      session.end(`closed: ${code}${text === '' ? '' : ` ${text}`}${lost ? ' (connection lost without a closing handshake)' : ''}`);
      resolve(lost ? ExitStatus.FAILURE : ExitStatus.OK);
    });
  });
}
