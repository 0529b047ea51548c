/**
 * CPU time of processes and of the whole machine, read from Linux's /proc.
 *
 * Server CPU per operation is the figure that says whether a system is bound
 * by computation: utime + stime of its server processes over the measuring
 * window, divided by the operations completed in it. The machine-wide busy
 * time shows whether the box itself was saturated, and how much of it went to
 * processes that are neither the servers nor this client (others share the
 * machine; a run with a large "other" share is noisy).
 *
 * On a system without /proc every reading is null and the report says so.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ), almost always 100. */
let ticksPerSecond: number | undefined;

export function clockTicksPerSecond(): number {
  if (ticksPerSecond !== undefined) return ticksPerSecond;
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const parsed = Number.parseInt(result.stdout ?? '', 10);
  ticksPerSecond = Number.isSafeInteger(parsed) && parsed > 0 ? parsed : 100;
  return ticksPerSecond;
}

/**
 * utime + stime in clock ticks from the text of /proc/<pid>/stat. The second
 * field (the command name) is in parentheses and may itself contain spaces and
 * parentheses, so fields are counted from the last ')'.
 */
export function parseProcStatTicks(text: string): number {
  const { userTicks, systemTicks } = parseProcStatTimes(text);
  return userTicks + systemTicks;
}

/** utime and stime, apart: kernel time is where socket writes, file writes and syncs show up. */
export function parseProcStatTimes(text: string): { userTicks: number; systemTicks: number } {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line: no ")"');
  // After ')': field 3 (state) is index 0, so utime (field 14) is index 11 and stime (15) index 12.
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number.parseInt(fields[11] ?? '', 10);
  const stime = Number.parseInt(fields[12] ?? '', 10);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime)) throw new Error('not a /proc/<pid>/stat line: no utime/stime');
  return { userTicks: utime, systemTicks: stime };
}

/** CPU seconds a process has used so far, or null if it is gone or /proc is missing. */
export function processCpuSeconds(pid: number): number | null {
  try {
    return parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicksPerSecond();
  } catch {
    return null;
  }
}

/** Sum over `pids`; null if any of them cannot be read (a died server invalidates the figure). */
export function processesCpuSeconds(pids: readonly number[]): number | null {
  return processesCpuTimes(pids)?.totalSeconds ?? null;
}

export interface CpuTimes {
  readonly userSeconds: number;
  readonly systemSeconds: number;
  readonly totalSeconds: number;
}

/** User and kernel CPU seconds summed over `pids`; null if any of them cannot be read. */
export function processesCpuTimes(pids: readonly number[]): CpuTimes | null {
  let user = 0;
  let system = 0;
  for (const pid of pids) {
    let times;
    try {
      times = parseProcStatTimes(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return null;
    }
    user += times.userTicks;
    system += times.systemTicks;
  }
  const ticks = clockTicksPerSecond();
  return { userSeconds: user / ticks, systemSeconds: system / ticks, totalSeconds: (user + system) / ticks };
}

export interface MachineCpu {
  /** CPU seconds spent busy (everything but idle and iowait), summed over cores. */
  readonly busySeconds: number;
  readonly totalSeconds: number;
}

/** The aggregate "cpu" line of /proc/stat text. */
export function parseMachineCpu(text: string, ticks: number): MachineCpu {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('no aggregate cpu line in /proc/stat');
  const values = line.trim().split(/\s+/).slice(1).map((v) => Number.parseInt(v, 10));
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = values;
  const busy = user + nice + system + irq + softirq + steal;
  return { busySeconds: busy / ticks, totalSeconds: (busy + idle + iowait) / ticks };
}

export function machineCpu(): MachineCpu | null {
  try {
    return parseMachineCpu(readFileSync('/proc/stat', 'utf8'), clockTicksPerSecond());
  } catch {
    return null;
  }
}
