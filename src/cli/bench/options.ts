/**
 * `wasmsocket bench` options: the command line parsed and checked into a `BenchOptions`, and
 * the same checks for callers that build options in code (the end-to-end benchmark).
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { parseCommandLine, parseHeaderArguments, parseWebSocketUrlArgument, UsageError } from '../args.js';

/** How client frames are masked. */
export const MaskMode = {
  /** A fresh key from a strong random source for every frame, as RFC 6455 §5.3 requires. */
  FRESH: 'fresh',
  /** A pool of pre-masked frames with distinct keys, reused in turn (benchmark-only). */
  POOLED: 'pooled',
  /** One pre-masked frame per payload, reused for every message (benchmark-only). */
  FIXED: 'fixed',
} as const;
export type MaskMode = (typeof MaskMode)[keyof typeof MaskMode];

/**
 * What the server sends back:
 * - `echo`: every message, unchanged (an echo server); each message received is matched to the
 *   oldest one in flight, latency is measured, and anything else is an error;
 * - `count`: anything or nothing (a broadcast or pub/sub server); messages are sent without
 *   waiting for replies, and every message received is counted, whatever it is.
 */
export type ReplyMode = 'echo' | 'count';

/** The kind of data message sent. */
export type MessageType = 'binary' | 'text';

/** One payload size of the distribution and its relative weight. */
export interface SizeWeight {
  readonly size: number;
  readonly weight: number;
}

/**
 * How messages are paced:
 * - closed loop: each connection keeps `depth` messages in flight, sending the next one as
 *   each echo arrives (throughput is whatever the server sustains);
 * - open loop: messages leave at a fixed total `rate` (per second) whatever the server does,
 *   and latency is measured from when each message was due (no coordinated omission);
 * - idle: connections are opened and held without traffic (memory per connection).
 */
export type LoadMode =
  | { readonly kind: 'closed'; readonly depth: number }
  | { readonly kind: 'open'; readonly rate: number; readonly maxInFlight: number }
  | { readonly kind: 'idle' };

/** Everything a load run needs. */
export interface BenchOptions {
  readonly url: URL;
  readonly connections: number;
  readonly sizes: readonly SizeWeight[];
  readonly messageType: MessageType;
  readonly mode: LoadMode;
  /** What the server sends back (`--mode`); `echo` when absent. */
  readonly replies?: ReplyMode;
  /** Measured time, after the warm-up. */
  readonly durationMs: number;
  /** Time under load before measuring, discarded. */
  readonly warmupMs: number;
  readonly subprotocols: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  /** Offer permessage-deflate (RFC 7692). */
  readonly deflate: boolean;
  readonly workers: number;
  readonly mask: MaskMode;
  /** The generator's own codec. */
  readonly codec: 'auto' | 'wasm' | 'portable';
  /** Milliseconds an opening handshake may take. */
  readonly connectTimeoutMs: number;
  /** Accept any TLS certificate (wss: to a server with a self-signed one). */
  readonly insecure: boolean;
  /** Also report this server process's CPU time and memory (from /proc). */
  readonly serverPid: number | undefined;
}

/** What the command does besides the run. */
export interface BenchCommandOptions extends BenchOptions {
  /** Write the result as JSON to this file. */
  readonly jsonFile: string | undefined;
  /** Show the live progress line: `auto` means only on a terminal. */
  readonly progress: 'auto' | 'always' | 'never';
}

export const DEFAULT_CONNECTIONS = 16;
export const DEFAULT_SIZE = 1024;
export const DEFAULT_DEPTH = 1;
export const DEFAULT_DURATION_SECONDS = 10;
export const DEFAULT_WARMUP_SECONDS = 2;
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

/**
 * The largest message the generator sends: 256 MiB. Every in-flight message keeps its frame
 * (and, with `--mask fresh`, its own masked copy) in memory, so this bounds what one
 * connection can hold; echo servers commonly refuse far less (ws: 100 MiB by default).
 */
export const MAX_MESSAGE_SIZE = 256 * 1024 * 1024;

/**
 * The most messages one connection may have in flight (pipelining depth, or the open loop's
 * backlog before sends are skipped): beyond a few thousand the numbers describe the socket
 * buffers, not the server.
 */
export const MAX_IN_FLIGHT = 4096;

/** Open-loop backlog per connection before a due message is skipped (and counted). */
export const DEFAULT_MAX_IN_FLIGHT = 1024;

/** At most this many connections: each needs a file descriptor on both ends. */
export const MAX_CONNECTIONS = 1_000_000;

/** `wasmsocket bench --help`. */
export const BENCH_HELP = `Usage: wasmsocket bench <url> [options]

Load an echo WebSocket server (every message sent must come back) and report messages/s,
MB/s each way, latency percentiles from an HDR histogram, errors and close codes. With
--mode count, load any server (broadcast, pub/sub) and count what arrives.

Load:
      --mode <mode>       echo   the server echoes every message: each one received is
                                 matched to one sent, and latency is measured (default)
                          count  the server sends anything or nothing back (broadcast,
                                 pub/sub): messages leave without waiting for replies, and
                                 every message received is counted (messages/s and MB/s
                                 received; no latency)
  -c, --connections <n>   connections (default ${DEFAULT_CONNECTIONS})
  -s, --size <sizes>      payload size in bytes, with k/m suffixes (1024 = 1k), or a
                          distribution: "16:90,1k:9,64k:1" (size:weight, picked at random
                          per message) (default 1k)
      --text              send text messages (chat-shaped mixed-script UTF-8); default binary
  -d, --depth <n>         closed loop: messages in flight per connection; each echo
                          sends the next (default ${DEFAULT_DEPTH}). With --mode count: frames
                          waiting to be written per connection; each one written sends
                          the next, as fast as the server reads
  -r, --rate <n>          open loop instead: n messages/s in total, sent on schedule
                          whatever the server does; latency counts from when each
                          message was due
      --max-in-flight <n> open loop: backlog per connection (echoes awaited, frames
                          waiting to be written) before due messages are skipped and
                          counted (default ${DEFAULT_MAX_IN_FLIGHT})
      --idle              open the connections and hold them without traffic (with
                          --mode count: listeners that count what the server sends)
  -t, --duration <s>      seconds measured (default ${DEFAULT_DURATION_SECONDS})
  -w, --warmup <s>        seconds of load before measuring, discarded (default ${DEFAULT_WARMUP_SECONDS})

Connections:
  -p, --subprotocol <name>     offer a subprotocol (repeatable)
  -H, --header <Name: value>   add a header to the opening request (repeatable)
      --deflate                offer permessage-deflate (RFC 7692); messages from 1 KiB
                               on are sent compressed, each on its own (no context
                               takeover), compressed once and reused
  -k, --insecure               accept any TLS certificate (wss:)
      --connect-timeout <s>    seconds an opening handshake may take (default ${DEFAULT_CONNECT_TIMEOUT_SECONDS})

Generator:
  -j, --workers <n>        worker threads (default: one per core, at most one per connection)
      --mask <mode>        fresh   a new random key per frame, as RFC 6455 §5.3 requires
                                   (default)
                           pooled  frames pre-masked with 256 keys, reused in turn
                           fixed   one pre-masked frame, reused for every message
                           (pooled and fixed break §5.3: for benchmarks only, to take
                           the generator's masking cost out of the measurement)
      --codec <codec>      the generator's codec: auto, wasm or portable (default auto)

Output:
      --json <file>        also write the result as JSON
      --server-pid <pid>   also report that server process's CPU time per message and its
                           memory (Linux /proc)
      --progress           show the live progress line even when stdout is not a terminal
      --no-progress        never show it
  -h, --help               show this help

In echo mode every message must come back unchanged in size and kind; anything else is
counted as an error. In both modes failed connections and closes other than the final
1000 are errors.
Exit status: 0 when the run completed without errors, 1 when connections failed or errors
were counted, 2 on a usage error.
`;

/** Multipliers of the size suffixes: binary, as payload sizes usually are (1k = 1024). */
const SIZE_SUFFIXES: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 * 1024,
  mb: 1024 * 1024,
  mib: 1024 * 1024,
};

/** Parse a byte size such as `16`, `1k`, `64KiB`, `1m`. */
export function parseByteSize(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const multiplier = match === null ? undefined : SIZE_SUFFIXES[match[2]!.toLowerCase()];
  if (match === null || multiplier === undefined) throw new UsageError(`${what} must be a size such as 16, 1k or 64KiB, not "${text}"`);
  const size = Number(match[1]) * multiplier;
  if (!Number.isInteger(size)) throw new UsageError(`${what} must be a whole number of bytes, not "${text}"`);
  if (size > MAX_MESSAGE_SIZE) throw new UsageError(`${what} is at most ${MAX_MESSAGE_SIZE} bytes (256m), not "${text}"`);
  return size;
}

/** Parse `--size`: one size, or `size:weight` pairs separated by commas. */
export function parseSizeDistribution(text: string): SizeWeight[] {
  const entries = text.split(',').map((part) => part.trim());
  if (entries.some((entry) => entry === '')) throw new UsageError(`--size must be a size or a list like "16:90,1k:10", not "${text}"`);
  const sizes = entries.map((entry) => {
    const colon = entry.indexOf(':');
    const size = parseByteSize(colon === -1 ? entry : entry.slice(0, colon), '--size');
    const weight = colon === -1 ? 1 : Number(entry.slice(colon + 1));
    if (!Number.isFinite(weight) || weight <= 0 || entry.slice(colon + 1).trim() === '') {
      throw new UsageError(`--size weights must be positive numbers, not "${entry.slice(colon + 1)}" in "${text}"`);
    }
    return { size, weight };
  });
  const seen = new Set<number>();
  for (const { size } of sizes) {
    if (seen.has(size)) throw new UsageError(`--size lists ${size} bytes twice in "${text}"`);
    seen.add(size);
  }
  return sizes;
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

function parseSeconds(text: string, what: string, allowZero: boolean): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || value > 86_400) {
    throw new UsageError(`${what} must be a number of seconds ${allowZero ? 'from 0' : 'above 0'} up to 86400, not "${text}"`);
  }
  return Math.round(value * 1000);
}

/** One worker per core, but never more workers than connections. */
export function defaultWorkers(connections: number): number {
  return Math.max(1, Math.min(availableParallelism(), connections));
}

/** Parse `bench`'s arguments. */
export function parseBenchArgs(args: readonly string[]): BenchCommandOptions | 'help' {
  const { values, positionals } = parseCommandLine(() =>
    parseArgs({
      args: [...args],
      options: {
        connections: { type: 'string', short: 'c', default: String(DEFAULT_CONNECTIONS) },
        size: { type: 'string', short: 's', default: '1k' },
        text: { type: 'boolean' },
        mode: { type: 'string', default: 'echo' },
        depth: { type: 'string', short: 'd' },
        rate: { type: 'string', short: 'r' },
        'max-in-flight': { type: 'string' },
        idle: { type: 'boolean' },
        duration: { type: 'string', short: 't', default: String(DEFAULT_DURATION_SECONDS) },
        warmup: { type: 'string', short: 'w', default: String(DEFAULT_WARMUP_SECONDS) },
        subprotocol: { type: 'string', short: 'p', multiple: true },
        header: { type: 'string', short: 'H', multiple: true },
        deflate: { type: 'boolean' },
        insecure: { type: 'boolean', short: 'k' },
        'connect-timeout': { type: 'string', default: String(DEFAULT_CONNECT_TIMEOUT_SECONDS) },
        workers: { type: 'string', short: 'j' },
        mask: { type: 'string', default: MaskMode.FRESH },
        codec: { type: 'string', default: 'auto' },
        json: { type: 'string' },
        'server-pid': { type: 'string' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (values.help === true) return 'help';
  if (positionals.length === 0) throw new UsageError('missing the URL of the server to load');
  if (positionals.length > 1) throw new UsageError(`expected one URL, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  const url = parseWebSocketUrlArgument(positionals[0]!);
  const connections = parseInteger(values.connections, '--connections', 1, MAX_CONNECTIONS);

  const pacing = [values.depth !== undefined && '--depth', values.rate !== undefined && '--rate', values.idle === true && '--idle'].filter(Boolean);
  if (pacing.length > 1) throw new UsageError(`${pacing.join(' and ')} cannot be combined: choose a closed loop, an open loop or idle connections`);
  if (values['max-in-flight'] !== undefined && values.rate === undefined) throw new UsageError('--max-in-flight applies to the open loop (--rate) only');
  let mode: LoadMode;
  if (values.idle === true) mode = { kind: 'idle' };
  else if (values.rate !== undefined) {
    const rate = Number(values.rate);
    if (values.rate.trim() === '' || !Number.isFinite(rate) || rate <= 0 || rate > 1e9) {
      throw new UsageError(`--rate must be a number of messages per second above 0, not "${values.rate}"`);
    }
    const maxInFlight = values['max-in-flight'] === undefined ? DEFAULT_MAX_IN_FLIGHT : parseInteger(values['max-in-flight'], '--max-in-flight', 1, MAX_IN_FLIGHT);
    mode = { kind: 'open', rate, maxInFlight };
  } else {
    mode = { kind: 'closed', depth: values.depth === undefined ? DEFAULT_DEPTH : parseInteger(values.depth, '--depth', 1, MAX_IN_FLIGHT) };
  }

  const replies = values.mode;
  if (replies !== 'echo' && replies !== 'count') throw new UsageError(`--mode must be echo or count, not "${replies}"`);
  const mask = values.mask;
  if (mask !== MaskMode.FRESH && mask !== MaskMode.POOLED && mask !== MaskMode.FIXED) {
    throw new UsageError(`--mask must be fresh, pooled or fixed, not "${mask}"`);
  }
  const codec = values.codec;
  if (codec !== 'auto' && codec !== 'wasm' && codec !== 'portable') throw new UsageError(`--codec must be auto, wasm or portable, not "${codec}"`);
  if (values.progress === true && values['no-progress'] === true) throw new UsageError('--progress and --no-progress cannot be combined');
  if (values.json === '') throw new UsageError('--json needs a file name');

  return {
    url,
    connections,
    sizes: parseSizeDistribution(values.size),
    messageType: values.text === true ? 'text' : 'binary',
    mode,
    replies,
    durationMs: parseSeconds(values.duration, '--duration', false),
    warmupMs: parseSeconds(values.warmup, '--warmup', true),
    subprotocols: values.subprotocol ?? [],
    headers: parseHeaderArguments(values.header ?? []),
    deflate: values.deflate === true,
    workers: values.workers === undefined ? defaultWorkers(connections) : parseInteger(values.workers, '--workers', 1, Math.min(connections, 256)),
    mask,
    codec,
    connectTimeoutMs: parseSeconds(values['connect-timeout'], '--connect-timeout', false),
    insecure: values.insecure === true,
    serverPid: values['server-pid'] === undefined ? undefined : parseInteger(values['server-pid'], '--server-pid', 1, 2 ** 31 - 1),
    jsonFile: values.json,
    progress: values.progress === true ? 'always' : values['no-progress'] === true ? 'never' : 'auto',
  };
}
