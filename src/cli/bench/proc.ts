/**
 * Another process's CPU time and memory, from Linux's /proc (proc(5)): `/proc/PID/stat`
 * fields 14 and 15 (utime, stime, in clock ticks) and `/proc/PID/status` (VmRSS, VmHWM).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU time and memory of a process at one moment. */
export interface ProcessSample {
  /** User plus system CPU time, in seconds. */
  readonly cpuSeconds: number;
  /** Resident set size, in bytes. */
  readonly rssBytes: number;
  /** Peak resident set size, in bytes. */
  readonly peakRssBytes: number;
}

/** The usual value of `sysconf(_SC_CLK_TCK)` on Linux, if `getconf` cannot say. */
const DEFAULT_CLOCK_TICKS = 100;

let clockTicks: number | undefined;

/** Clock ticks per second, as `/proc/PID/stat` counts CPU time. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      clockTicks = Number.isInteger(value) && value > 0 ? value : DEFAULT_CLOCK_TICKS;
    } catch {
      clockTicks = DEFAULT_CLOCK_TICKS;
    }
  }
  return clockTicks;
}

/** utime + stime of a `/proc/PID/stat` line, in ticks. The command name (field 2) may hold spaces and parentheses: fields are counted after its last ")". */
export function parseStatCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is at index 0, so field N is at index N - 3.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unexpected /proc/PID/stat format');
  return utime + stime;
}

/** A `kB` field of `/proc/PID/status` (e.g. `VmRSS`), in bytes; 0 if absent. */
export function parseStatusKilobytes(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, 'm').exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/**
 * Sample process `pid`.
 * @throws with a message saying so when the process does not exist or /proc is unavailable.
 */
export function sampleProcess(pid: number): ProcessSample {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `no process ${pid} (or no /proc: --server-pid needs Linux)` : `cannot read /proc/${pid}: ${(error as Error).message}`);
  }
  return {
    cpuSeconds: parseStatCpuTicks(stat) / clockTicksPerSecond(),
    rssBytes: parseStatusKilobytes(status, 'VmRSS'),
    peakRssBytes: parseStatusKilobytes(status, 'VmHWM'),
  };
}
