import { readFileSync } from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';

export interface MemoryPeak {
  /** Highest RSS seen, sampled every `intervalMs`, in MiB. */
  peakRssMb: number;
  /** process.memoryUsage() at that sample, in MiB. */
  atPeak: { rssMb: number; heapUsedMb: number; heapTotalMb: number; externalMb: number; arrayBuffersMb: number };
  samples: number;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/**
 * Samples process.memoryUsage() every `intervalMs` while a stage runs. A timer cannot fire while
 * synchronous work (a SQLite page read) holds the event loop, so the stage's code may call
 * `sample()` from its loops too.
 */
export function createMemorySampler(intervalMs = 50) {
  let peak: NodeJS.MemoryUsage | null = null;
  let samples = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    samples++;
    if (!peak || usage.rss > peak.rss) peak = usage;
  };
  let timer: NodeJS.Timeout | null = null;
  return {
    sample,
    start() {
      peak = null;
      samples = 0;
      sample();
      timer = setInterval(sample, intervalMs);
      timer.unref();
    },
    stop(): MemoryPeak {
      if (timer) clearInterval(timer);
      timer = null;
      sample();
      const p = peak!;
      return {
        peakRssMb: mb(p.rss),
        atPeak: { rssMb: mb(p.rss), heapUsedMb: mb(p.heapUsed), heapTotalMb: mb(p.heapTotal), externalMb: mb(p.external), arrayBuffersMb: mb(p.arrayBuffers) },
        samples,
      };
    },
  };
}

export interface Timed<T> {
  seconds: number;
  /** This process's user + system CPU seconds: wall time is inflated when other work shares the cores. */
  cpuSeconds: number;
  memory: MemoryPeak;
  value: T;
}

/**
 * A full garbage collection before each stage, so that one stage's garbage does not count in the
 * next one's peak. `node --expose-gc` is not needed: the flag can be set at run time.
 */
v8.setFlagsFromString('--expose-gc');
export const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Runs `run` with wall time, CPU time and the RSS peak measured; collects garbage first when it can. */
export async function measureStage<T>(run: (sample: () => void) => Promise<T> | T): Promise<Timed<T>> {
  collectGarbage();
  const sampler = createMemorySampler(50);
  sampler.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run(sampler.sample);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, memory: sampler.stop(), value };
}

/** CPU seconds (user + system) of a process, from /proc (0 when it cannot be read). */
export function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After the command name: the state is field 3, utime and stime fields 14 and 15, in clock ticks (100/s on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * The whole machine's CPU seconds so far (/proc/stat, every core): busy (user, nice, system, irq,
 * softirq, steal) and idle (idle, iowait). A stage's difference says whether its cores were
 * saturated, and, less what the measured processes used, how much went to other work.
 */
export function readMachineCpu(): { busySeconds: number; idleSeconds: number } {
  try {
    const fields = /^cpu +(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]!.split(/ +/).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    return { busySeconds: (user + nice + system + irq + softirq + steal) / 100, idleSeconds: (idle + iowait) / 100 };
  } catch {
    return { busySeconds: 0, idleSeconds: 0 };
  }
}

export function describeMachine(): { cpu: string; cores: number; memoryGiB: number; node: string; platform: string; loadAverage: number[] } {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

export function formatRate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** A plain-text table: first column left-aligned, the rest right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Parses argv `--name value` flags as whole numbers (underscores and commas allowed: 1_000_000). */
export function readCount(raw: string | undefined, name: string, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`error: --${name} ${raw}: expected a whole number ≥ ${min}\n`);
    process.exit(2);
  }
  return n;
}
