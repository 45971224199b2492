import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** 1-minute load average when the benchmark started: other work on the machine shows here. */
  readonly loadAverage1m: number;
  readonly freeMemoryGiB: number;
}

/**
 * The machine's CPU contention at one moment: load averages and pressure stall information
 * (PSI, `some` line: % of time at least one runnable task waited for a CPU), system-wide
 * and for this cgroup (cgroup2, mounted at /sys/fs/cgroup/unified on this machine). On a
 * shared 2-core machine this is what says whether a figure was measured on a quiet machine.
 */
export interface LoadSnapshot {
  readonly at: string;
  readonly loadAverage: readonly [number, number, number];
  readonly psiCpu: Psi | null;
  readonly psiCpuCgroup: Psi | null;
  /**
   * The machine's CPU time so far (`/proc/stat`, all CPUs, in clock ticks): all of it, and
   * what the hypervisor gave to other guests while this one wanted to run (`steal`). Null
   * where there is no /proc/stat.
   */
  readonly cpuTicks: CpuTicks | null;
}

export interface CpuTicks {
  readonly total: number;
  readonly steal: number;
}

export interface Psi {
  readonly avg10: number;
  readonly avg60: number;
  readonly avg300: number;
}

/** Load at the start and end of one benchmark run. */
export interface MachineLoad {
  readonly start: LoadSnapshot;
  readonly end: LoadSnapshot;
}

/**
 * % of the machine's CPU time between two snapshots that the hypervisor gave to other
 * guests (null where either has no /proc/stat). On this VM it rose from ~1 % at idle to 19 %
 * during raw 100 MB loopback sends, which then took 72 ms instead of 25–30 (2026-12-01):
 * a run with much steal measured the host's other tenants as much as admove.
 */
export function stealPercent(load: MachineLoad): number | null {
  const a = load.start.cpuTicks;
  const b = load.end.cpuTicks;
  if (!a || !b || b.total <= a.total) return null;
  return Math.round((1000 * (b.steal - a.steal)) / (b.total - a.total)) / 10;
}

export function machineInfo(): MachineInfo {
  const gib = (b: number) => Math.round((b / 2 ** 30) * 10) / 10;
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: gib(totalmem()),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: Math.round(loadavg()[0] * 100) / 100,
    freeMemoryGiB: gib(freemem()),
  };
}

const CGROUP_PSI = ['/sys/fs/cgroup/unified/cpu.pressure', '/sys/fs/cgroup/cpu.pressure'];

export function loadSnapshot(): LoadSnapshot {
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const [a, b, c] = loadavg();
  return {
    at: new Date().toISOString(),
    loadAverage: [r2(a), r2(b), r2(c)],
    psiCpu: readPsi('/proc/pressure/cpu'),
    psiCpuCgroup: CGROUP_PSI.map(readPsi).find((p) => p !== null) ?? null,
    cpuTicks: readCpuTicks(),
  };
}

/** The `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal …), or null. */
export function readCpuTicks(path = '/proc/stat'): CpuTicks | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const line = /^cpu\s+(.*)$/m.exec(text)?.[1];
  const fields = line?.trim().split(/\s+/).slice(0, 8).map(Number) ?? [];
  if (fields.length < 8 || !fields.every(Number.isFinite)) return null;
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] };
}

/** The `some` line of a PSI file, or null where the kernel has none. */
export function readPsi(path: string): Psi | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => l.startsWith('some '));
  const field = (k: string) => Number(new RegExp(`${k}=([0-9.]+)`).exec(line ?? '')?.[1]);
  const psi = { avg10: field('avg10'), avg60: field('avg60'), avg300: field('avg300') };
  return Object.values(psi).every(Number.isFinite) ? psi : null;
}

/** One line for the Markdown header: load average and CPU pressure at start → end. */
export function describeLoad(load: MachineLoad): string {
  const psi = (s: LoadSnapshot) => (s.psiCpu ? `${s.psiCpu.avg10}/${s.psiCpu.avg60}` : 'n/a');
  const steal = stealPercent(load);
  const stolen = steal === null ? '' : `; CPU time taken by the hypervisor over the run (steal) ${steal} %`;
  return `load average ${load.start.loadAverage[0]} → ${load.end.loadAverage[0]}, CPU pressure (PSI some avg10/avg60, %) ${psi(load.start)} → ${psi(load.end)}${stolen}`;
}
