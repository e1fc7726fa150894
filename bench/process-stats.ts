import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * CPU and memory of another process, read from its own /proc counters (Linux only). utime + stime in
 * /proc/<pid>/stat cover every thread of the process (V8's GC helpers and the libuv pool included),
 * in clock ticks.
 */

const clockTicksPerSecond = readClockTicks();

function readClockTicks(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

/** User + system CPU time of `pid` since it started, in milliseconds (tick resolution, 10 ms at 100 Hz). */
export function readCpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return ((userTicks + systemTicks) * 1000) / clockTicksPerSecond;
}

export interface MemoryReading {
  rssMb: number;
  /** VmHWM: the peak resident set since start, or since the last `resetPeakRss`. */
  peakRssMb: number;
}

export function readMemory(pid: number): MemoryReading {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) : Number.NaN;
  };
  return { rssMb: kilobytes('VmRSS') / 1024, peakRssMb: kilobytes('VmHWM') / 1024 };
}

/**
 * Resets VmHWM to the current RSS so that the next reading is the peak of one phase
 * (`echo 5 > /proc/<pid>/clear_refs`, Linux 4.0+). Returns false where the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Time the process's main thread (the event loop) was runnable but waiting for a CPU, in
 * milliseconds, from /proc/<pid>/schedstat (second field, ns). Non-zero means something else held
 * the cores: the best sign that a figure is skewed by the machine rather than by the code.
 */
export function readRunQueueWaitMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ');
    return Number(fields[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Counters of one process over one measured window. */
export interface ProcessWindow {
  cpuMs: number;
  /** Share of the window the main thread waited for a CPU (see `readRunQueueWaitMs`). */
  runQueueWaitPercent: number;
  peakRssMb: number;
  /** False when VmHWM could not be reset: `peakRssMb` is then the peak since the process started. */
  isPeakForWindow: boolean;
}

export function startWindow(pid: number): { stop(): ProcessWindow } {
  const isPeakForWindow = resetPeakRss(pid);
  const cpuAtStart = readCpuMs(pid);
  const waitAtStart = readRunQueueWaitMs(pid);
  const startedAt = performance.now();
  return {
    stop: () => ({
      cpuMs: readCpuMs(pid) - cpuAtStart,
      runQueueWaitPercent: (100 * (readRunQueueWaitMs(pid) - waitAtStart)) / (performance.now() - startedAt),
      peakRssMb: readMemory(pid).peakRssMb,
      isPeakForWindow,
    }),
  };
}

/** The harness's own CPU over a window (the load generator shares the machine with what it measures). */
export function startOwnCpuWindow(): { stop(): number } {
  const start = process.cpuUsage();
  return {
    stop: () => {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    },
  };
}

/** CPU time the whole machine spent busy (all cores, steal excluded), in milliseconds, from /proc/stat. */
export function readMachineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
  const [, user, nice, system, , , irq, softirq] = line.split(/\s+/).map(Number);
  const ticks = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
  return (ticks * 1000) / clockTicksPerSecond;
}

/**
 * Measures what processes outside the bench spent during a window (a test run or a compiler on the
 * same machine skews every figure): machine busy time minus the CPU of `ownPids`, as a percentage
 * of the machine's capacity over the window.
 */
export function startForeignLoadWindow(ownPids: () => number[], cores: number): { stop(): number } {
  const pids = ownPids();
  const ownAtStart = new Map(pids.map((pid) => [pid, safeCpuMs(pid)]));
  const machineAtStart = readMachineBusyMs();
  const startedAt = performance.now();
  return {
    stop: () => {
      let ownMs = 0;
      for (const [pid, atStart] of ownAtStart) ownMs += safeCpuMs(pid) - atStart;
      const foreignMs = readMachineBusyMs() - machineAtStart - ownMs;
      const capacityMs = (performance.now() - startedAt) * cores;
      return Math.max(0, (100 * foreignMs) / capacityMs);
    },
  };
}

function safeCpuMs(pid: number): number {
  try {
    return readCpuMs(pid);
  } catch {
    return 0;
  }
}
