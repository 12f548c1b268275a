/**
 * The load generator's parts: option parsing, payloads, frames in each masking mode, latency
 * histograms merged across threads, /proc parsing, and the summary.
 */
import { describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/index.js';
import { createFrameFactory, plainPayloads, POOLED_KEYS } from '../../src/cli/bench/frames.js';
import { addBuckets, createLatencyHistogram, histogramBuckets, summarizeLatency } from '../../src/cli/bench/latency.js';
import { MAX_MESSAGE_SIZE, parseBenchArgs, parseByteSize, parseSizeDistribution, type BenchCommandOptions } from '../../src/cli/bench/options.js';
import { binaryPayload, createSizePicker, textPayload } from '../../src/cli/bench/payload.js';
import { parseStatCpuTicks, parseStatusKilobytes, sampleProcess } from '../../src/cli/bench/proc.js';
import { renderSummary } from '../../src/cli/bench/report.js';
import type { BenchResult } from '../../src/cli/bench/run.js';
import { UsageError } from '../../src/cli/args.js';
import { webCryptoRandom } from '../../src/shared/ports.js';
import { readFrames } from '../helpers/frames.js';

function parse(args: readonly string[]): BenchCommandOptions {
  const options = parseBenchArgs(args);
  if (options === 'help') throw new Error('unexpected help');
  return options;
}

describe('bench options', () => {
  it('has defaults: 16 connections, 1 KiB binary, closed loop depth 1, fresh masks', () => {
    const options = parse(['ws://127.0.0.1:8080/echo']);
    expect(options.connections).toBe(16);
    expect(options.sizes).toEqual([{ size: 1024, weight: 1 }]);
    expect(options.messageType).toBe('binary');
    expect(options.mode).toEqual({ kind: 'closed', depth: 1 });
    expect(options.mask).toBe('fresh');
    expect(options.workers).toBeGreaterThanOrEqual(1);
    expect(options.workers).toBeLessThanOrEqual(16);
  });

  it('parses sizes with binary suffixes and weighted distributions', () => {
    expect(parseByteSize('16', 'x')).toBe(16);
    expect(parseByteSize('1k', 'x')).toBe(1024);
    expect(parseByteSize('64KiB', 'x')).toBe(65536);
    expect(parseByteSize('1m', 'x')).toBe(1048576);
    expect(parseSizeDistribution('16:90,1k:9,64k:1')).toEqual([
      { size: 16, weight: 90 },
      { size: 1024, weight: 9 },
      { size: 65536, weight: 1 },
    ]);
  });

  it.each([
    [['ws://h/', '--size', 'lots'], /--size must be a size/],
    [['ws://h/', '--size', '16:0'], /weights must be positive/],
    [['ws://h/', '--size', '16,16'], /lists 16 bytes twice/],
    [['ws://h/', '--size', `${MAX_MESSAGE_SIZE + 1}`], /at most/],
    [['ws://h/', '--depth', '2', '--rate', '100'], /cannot be combined/],
    [['ws://h/', '--idle', '--depth', '2'], /cannot be combined/],
    [['ws://h/', '--max-in-flight', '8'], /open loop/],
    [['ws://h/', '--connections', '0'], /--connections must be an integer/],
    [['ws://h/', '--mask', 'none'], /--mask must be fresh, pooled or fixed/],
    [['ws://h/', '--mode', 'broadcast'], /--mode must be echo or count/],
    [['ws://h/', '--duration', '0'], /--duration must be a number of seconds above 0/],
    [['ws://h/', '--header', 'no colon'], /--header must look like/],
    [['ftp://h/'], /scheme must be ws: or wss:/],
    [['not a url'], /invalid URL/],
    [['ws://h/#frag'], /no fragment/],
    [[], /missing the URL/],
    [['ws://a/', 'ws://b/'], /expected one URL/],
    [['ws://h/', '--bogus'], /Unknown option/],
  ])('refuses %j', (args, message) => {
    expect(() => parseBenchArgs(args)).toThrow(UsageError);
    expect(() => parseBenchArgs(args)).toThrow(message);
  });

  it('expects echoes unless --mode count says to count whatever arrives', () => {
    expect(parse(['ws://h/']).replies).toBe('echo');
    expect(parse(['ws://h/', '--mode', 'echo']).replies).toBe('echo');
    const counting = parse(['ws://h/', '--mode', 'count', '--rate', '100']);
    expect(counting.replies).toBe('count');
    expect(counting.mode).toEqual({ kind: 'open', rate: 100, maxInFlight: 1024 });
    expect(parse(['ws://h/', '--mode', 'count', '--idle']).mode).toEqual({ kind: 'idle' });
  });

  it('parses the open loop, idle mode, headers, subprotocols and the server pid', () => {
    const open = parse(['http://127.0.0.1:1/x?y=1', '-r', '500', '--max-in-flight', '8', '-H', 'X-A: 1', '-H', 'x-a: 2', '-p', 'chat', '--server-pid', '42']);
    expect(open.url.href).toBe('ws://127.0.0.1:1/x?y=1');
    expect(open.mode).toEqual({ kind: 'open', rate: 500, maxInFlight: 8 });
    expect(open.headers).toEqual({ 'X-A': '1, 2' });
    expect(open.subprotocols).toEqual(['chat']);
    expect(open.serverPid).toBe(42);
    expect(parse(['ws://h/', '--idle']).mode).toEqual({ kind: 'idle' });
    expect(parse(['ws://h/', '--text', '--depth', '16']).messageType).toBe('text');
  });
});

describe('bench payloads', () => {
  it('makes valid chat-shaped UTF-8 of exactly the size asked, at every size up to two repetitions', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    for (let size = 0; size <= 300; size++) {
      const text = textPayload(size);
      expect(text.length).toBe(size);
      expect(() => decoder.decode(text)).not.toThrow();
    }
    const sample = decoder.decode(textPayload(4096));
    expect(sample).toMatch(/[\u0400-\u04ff]/); // Cyrillic
    expect(sample).toMatch(/[\u4e00-\u9fff]/); // CJK
    expect(sample).toMatch(/\p{Extended_Pictographic}/u); // four-byte sequences
    expect(sample).toMatch(/[\u0370-\u03ff]/); // Greek
    // Chat-shaped: 40-50 % of the bytes are not ASCII, and the script changes every few bytes.
    const bytes = textPayload(4096);
    const nonAscii = bytes.filter((byte) => byte >= 0x80).length / bytes.length;
    expect(nonAscii).toBeGreaterThan(0.4);
    expect(nonAscii).toBeLessThan(0.5);
    let switches = 0;
    for (let i = 1; i < bytes.length; i++) if (bytes[i]! >= 0x80 !== bytes[i - 1]! >= 0x80) switches++;
    expect(switches / (bytes.length / 64)).toBeGreaterThan(4);
  });

  it('makes binary payloads that are not constant, the same for the same seed', () => {
    const a = binaryPayload(1027, 7);
    expect(a.length).toBe(1027);
    expect(new Set(a).size).toBeGreaterThan(200);
    expect(binaryPayload(1027, 7)).toEqual(a);
    expect(binaryPayload(1027, 8)).not.toEqual(a);
  });

  it('picks sizes in proportion to their weights', () => {
    const pick = createSizePicker(parseSizeDistribution('16:3,1k:1'), 1);
    const counts = [0, 0];
    for (let i = 0; i < 40_000; i++) counts[pick()]!++;
    expect(counts[0]! / 40_000).toBeGreaterThan(0.72);
    expect(counts[0]! / 40_000).toBeLessThan(0.78);
    expect(createSizePicker(parseSizeDistribution('5'), 1)()).toBe(0);
  });
});

describe('bench frames', () => {
  const payloads = [binaryPayload(5), binaryPayload(300), binaryPayload(70_000)];

  it('fresh: every frame has a new key and carries its payload', () => {
    const frames = createFrameFactory(portableCodec, webCryptoRandom, plainPayloads(payloads), 'binary', 'fresh').forConnection(4);
    const keys = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const index = i % 3;
      const [frame] = readFrames(frames.next(index).slice());
      expect(frame).toMatchObject({ fin: true, rsv: 0, opcode: 2, masked: true });
      expect(frame!.payload).toEqual(payloads[index]);
      keys.add(Buffer.from(frame!.maskKey!).toString('hex'));
      frames.written();
    }
    expect(keys.size).toBe(12);
  });

  it('fresh: refuses more frames waiting to be written than the connection declared', () => {
    const frames = createFrameFactory(portableCodec, webCryptoRandom, plainPayloads(payloads), 'text', 'fresh').forConnection(2);
    frames.next(0);
    frames.next(1);
    expect(() => frames.next(0)).toThrow(RangeError);
    frames.written();
    expect(readFrames(frames.next(0).slice())[0]!.opcode).toBe(1);
  });

  it('fresh: a frame keeps its bytes until its write is reported, and only the oldest written buffer is reused', () => {
    const text = [textPayload(40), textPayload(1000)];
    const frames = createFrameFactory(portableCodec, webCryptoRandom, plainPayloads(text), 'text', 'fresh').forConnection(3);
    const a = frames.next(1);
    const b = frames.next(0);
    const c = frames.next(1);
    const before = [a.slice(), b.slice(), c.slice()];
    expect(new Set([a.buffer, b.buffer, c.buffer]).size).toBe(3);
    // The first frame's write completes: its buffer, and no other, takes the next frame.
    frames.written();
    const d = frames.next(1);
    expect(d.buffer).toBe(a.buffer);
    expect(b).toEqual(before[1]);
    expect(c).toEqual(before[2]);
    // Each frame read back is the payload it was made for, masked with a key of its own.
    const read = [d, b, c].map((frame) => readFrames(frame.slice())[0]!);
    expect(read.map((frame) => frame.payload)).toEqual([text[1], text[0], text[1]]);
    expect(new Set(read.map((frame) => Buffer.from(frame.maskKey!).toString('hex'))).size).toBe(3);
    // The next write reported is the oldest one outstanding: b's.
    frames.written();
    expect(frames.next(0).buffer).toBe(b.buffer);
    expect(c).toEqual(before[2]);
    expect(readFrames(d.slice())[0]!.payload).toEqual(text[1]);
  });

  it('pooled: a pool of pre-masked frames reused in turn; fixed: one frame', () => {
    const pooled = createFrameFactory(portableCodec, webCryptoRandom, plainPayloads([binaryPayload(16)]), 'binary', 'pooled').forConnection(1);
    const first = pooled.next(0);
    const seen = new Set([first]);
    for (let i = 1; i < POOLED_KEYS; i++) seen.add(pooled.next(0));
    expect(seen.size).toBe(POOLED_KEYS);
    expect(pooled.next(0)).toBe(first);
    for (const frame of seen) expect(readFrames(frame)[0]!.payload).toEqual(binaryPayload(16));
    const fixed = createFrameFactory(portableCodec, webCryptoRandom, plainPayloads([binaryPayload(16)]), 'binary', 'fixed').forConnection(1);
    expect(fixed.next(0)).toBe(fixed.next(0));
    expect(readFrames(fixed.next(0))[0]!.masked).toBe(true);
  });
});

describe('bench latency', () => {
  it('merges histograms from several threads into ordered percentiles', () => {
    const a = createLatencyHistogram();
    const b = createLatencyHistogram();
    for (let i = 1; i <= 1000; i++) a.recordValue(i * 1000);
    for (let i = 1; i <= 1000; i++) b.recordValue(1_000_000 + i * 1000);
    const merged = createLatencyHistogram();
    addBuckets(merged, histogramBuckets(a));
    addBuckets(merged, histogramBuckets(b));
    const summary = summarizeLatency(merged);
    expect(summary.count).toBe(2000);
    expect(summary.min).toBeCloseTo(1, 1);
    expect(summary.p50).toBeCloseTo(1000, -1);
    expect(summary.max).toBeCloseTo(2000, -1);
    const ordered = [summary.min, summary.p50, summary.p90, summary.p99, summary.p999, summary.max];
    expect([...ordered].sort((x, y) => x - y)).toEqual(ordered);
    expect(summarizeLatency(createLatencyHistogram()).count).toBe(0);
  });

  it('keeps min ≤ p50 ≤ p90 ≤ p99 ≤ p99.9 ≤ max when the largest values share a bucket', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const histogram = createLatencyHistogram();
      let x = seed;
      for (let i = 0; i < 3000; i++) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        histogram.recordValue(Math.round(1000 * Math.exp((x / 2 ** 31) * 9)));
      }
      const s = summarizeLatency(histogram);
      const ordered = [s.min, s.p50, s.p90, s.p99, s.p999, s.max];
      expect([...ordered].sort((a, b) => a - b)).toEqual(ordered);
    }
  });
});

describe('bench /proc', () => {
  it('reads utime + stime after a command name with spaces and parentheses', () => {
    const stat = '1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 1 0 100 1000000 500 18446744073709551615';
    expect(parseStatCpuTicks(stat)).toBe(325);
  });

  it('reads kB fields of /proc/PID/status', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    expect(parseStatusKilobytes(status, 'VmRSS')).toBe(102400 * 1024);
    expect(parseStatusKilobytes(status, 'VmHWM')).toBe(204800 * 1024);
    expect(parseStatusKilobytes(status, 'VmSwap')).toBe(0);
  });

  it('samples a live process and refuses a missing one', () => {
    const sample = sampleProcess(process.pid);
    expect(sample.cpuSeconds).toBeGreaterThan(0);
    expect(sample.rssBytes).toBeGreaterThan(1e6);
    expect(sample.peakRssBytes).toBeGreaterThanOrEqual(sample.rssBytes);
    expect(() => sampleProcess(2 ** 31 - 2)).toThrow(/no process/);
  });
});

describe('bench summary', () => {
  const result: BenchResult = {
    tool: 'wasmsocket bench',
    version: 1,
    url: 'ws://127.0.0.1:9/echo',
    startedAt: '2026-01-01T00:00:00.000Z',
    options: {
      connections: 2,
      sizes: [{ size: 1024, weight: 1 }],
      messageType: 'binary',
      mode: { kind: 'closed', depth: 1 },
      replies: 'echo',
      durationSeconds: 1,
      warmupSeconds: 0,
      workers: 1,
      mask: 'fresh',
      subprotocols: [],
      deflate: false,
    },
    durationSeconds: 1,
    connections: { requested: 2, opened: 2, failed: 0, openAtEnd: 2, protocol: null, extensions: [] },
    messages: { sent: 100, received: 100, perSecond: 100, sentPerSecond: 100, skipped: 0 },
    throughput: { bytesSent: 102400, bytesReceived: 102400, sentMBps: 0.1024, receivedMBps: 0.1024 },
    latency: { count: 100, min: 10, mean: 20, p50: 20, p90: 30, p99: 40, p999: 50, max: 60 },
    errors: { total: 3, kinds: { 'echo: mismatch': { count: 3, example: 'expected a binary message of 1024 bytes, got a text one of 3' } } },
    closeCodes: { '1000': 2 },
    generator: { workers: 1, codec: 'wasm', cpuSeconds: 0.99, cpuMicrosPerMessage: 9900, cpuCores: 0.99 },
    server: { pid: 7, cpuSeconds: 0.001, cpuMicrosPerMessage: 10, cpuCores: 0.001, rssBytes: 50e6, peakRssBytes: 60e6 },
  };

  it('shows rates, latency, errors with an example, close codes, both CPU costs and the bottleneck warning', () => {
    const text = renderSummary(result);
    expect(text).toContain('messages/s');
    expect(text).toMatch(/p50 20\.0 µs\s+p90 30\.0 µs\s+p99 40\.0 µs\s+p99\.9 50\.0 µs\s+max 60\.0 µs/);
    expect(text).toContain('errors       3: echo: mismatch ×3');
    expect(text).toContain('echo: mismatch: expected a binary message of 1024 bytes');
    expect(text).toContain('1000 ×2');
    expect(text).toContain('9,900 µs CPU/message');
    expect(text).toContain('server 7');
    expect(text).toContain('RSS 50.0 MB (peak 60.0 MB)');
    expect(text).toMatch(/warning: the generator kept 0\.99 of its 1 workers' cores busy/);
  });

  it('with --mode count shows messages and bytes received and sent, and no latency', () => {
    const text = renderSummary({
      ...result,
      options: { ...result.options, replies: 'count', mode: { kind: 'open', rate: 100, maxInFlight: 1024 } },
      messages: { sent: 100, received: 400, perSecond: 400, sentPerSecond: 100, skipped: 0 },
      throughput: { bytesSent: 102400, bytesReceived: 409600, sentMBps: 0.1024, receivedMBps: 0.4096 },
      latency: { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
      errors: { total: 0, kinds: {} },
    });
    expect(text).toContain('open loop at 100 messages/s, counting what arrives');
    expect(text).toMatch(/messages\/s\s+400 received, 100 sent {2}\(400 received, 100 sent in 1\.00 s\)/);
    expect(text).toMatch(/MB\/s\s+0\.41 received, 0\.10 sent/);
    expect(text).toMatch(/latency\s+not measured/);
    expect(text).not.toContain('round trips');
    expect(text).toMatch(/errors\s+none/);
  });
});
