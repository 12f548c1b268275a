/**
 * The `wasmsocket` command line: `wasmsocket <command> [options]`.
 *
 *   serve    an echo and broadcast server with a page to try it from a browser
 *   connect  an interactive client: stdin lines become messages, messages are printed
 *   bench    a load generator: echo round trips, or messages counted as they arrive
 *
 * Every command answers `--help`; a usage error prints what was wrong and the command's help
 * on stderr and exits with 2; a failure at run time prints what happened and exits with 1.
 */
import { CommandError, type CommandIo, ExitStatus, UsageError, writeLine } from './args.js';
import { BENCH_HELP, benchCommand } from './bench/command.js';
import { CONNECT_HELP, connectCommand } from './connect.js';
import { SERVE_HELP, serveCommand } from './serve.js';

/** `wasmsocket --help`. */
export const MAIN_HELP = `Usage: wasmsocket <command> [options]

Commands:
  serve    run an echo and broadcast WebSocket server, with a page to try it in a browser
  connect  connect to a WebSocket server and talk to it from the terminal or a pipe
  bench    load a server: echo round trips (messages/s, MB/s, latency percentiles, CPU per
           message), or with --mode count what a broadcast or pub/sub server sends back

Options:
  -h, --help  show this help; "wasmsocket <command> --help" shows a command's

Exit status: 0 on success, 1 when the server or the connection fails, 2 on a usage error.
`;

type Command = (args: readonly string[], io: CommandIo) => Promise<ExitStatus>;

const COMMANDS: Readonly<Record<string, { readonly run: Command; readonly help: string }>> = {
  serve: { run: serveCommand, help: SERVE_HELP },
  connect: { run: connectCommand, help: CONNECT_HELP },
  bench: { run: benchCommand, help: BENCH_HELP },
};

/** Run the command line `argv` (without the node and script paths); resolves to the exit status. */
export async function main(argv: readonly string[], io: CommandIo): Promise<ExitStatus> {
  const [name, ...args] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(MAIN_HELP);
    return name === undefined ? ExitStatus.USAGE : ExitStatus.OK;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    writeLine(io.stderr, `wasmsocket: unknown command "${name}"\n`);
    io.stderr.write(MAIN_HELP);
    return ExitStatus.USAGE;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      writeLine(io.stderr, `wasmsocket ${name}: ${error.message}\n`);
      io.stderr.write(command.help);
      return ExitStatus.USAGE;
    }
    if (error instanceof CommandError) {
      writeLine(io.stderr, `wasmsocket ${name}: ${error.message}`);
      return ExitStatus.FAILURE;
    }
    throw error;
  }
}

main(process.argv.slice(2), process).then(
  (status) => {
    // Exit once stdout is flushed: an open stdin or a kept-alive socket must not hold the process.
    process.stdout.write('', () => process.exit(status));
  },
  (error: unknown) => {
    writeLine(process.stderr, `wasmsocket: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(ExitStatus.FAILURE);
  },
);
