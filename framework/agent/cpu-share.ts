/**
 * How much of an agent's cores other processes take, from two samples of Linux's
 * /proc/stat. Pure: the sampler (load-watcher.ts) reads the files and the clocks.
 *
 * Busy time counts everything but idle and iowait, over the cores the agent may run on
 * (its affinity, `Cpus_allowed_list`). The agent's own CPU time — every thread of it,
 * worker threads included — is taken off, so the job's own work never reads as load.
 */

/** Tick counters of one core (USER_HZ units; only their ratios are used). */
export interface CoreTicks {
  readonly busy: number;
  readonly total: number;
}

/** One look at the machine: the cores' counters, the agent's affinity, its own CPU time. */
export interface CpuSample {
  readonly ticks: ReadonlyMap<number, CoreTicks>;
  /** The cores the agent may run on when the sample was taken. */
  readonly cores: readonly number[];
  /** The agent's own CPU time so far (user + system, all threads), ms. */
  readonly ownCpuMs: number;
  /** A monotonic clock, ms. */
  readonly wallMs: number;
}

/** What other processes took between two samples. */
export interface OthersShare {
  /** Fraction of the watched cores' time other processes used, in [0, 1]. */
  readonly share: number;
  /** The cores it covers (allowed at the second sample and present in both). */
  readonly cores: readonly number[];
}

/**
 * The least fraction left for the job a reading reports: a `load` fraction must be > 0,
 * and a host whose cores others use fully still gives the job's threads their turn.
 */
export const MIN_FRACTION_LEFT = 0.05;

/** A Linux CPU list (`0-3,8,10-11`) as sorted core numbers; null if it is not one. */
export function parseCpuList(text: string): number[] | null {
  const cores = new Set<number>();
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to - from > 65_536) return null;
    for (let c = from; c <= to; c++) cores.add(c);
  }
  return [...cores].sort((a, b) => a - b);
}

/** The cores of `Cpus_allowed_list` in /proc/self/status; null if the line is missing. */
export function allowedCores(status: string): number[] | null {
  const m = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(status);
  return m ? parseCpuList(m[1]) : null;
}

/**
 * The `cpuN` lines of /proc/stat: user nice system idle iowait irq softirq steal guest
 * guest_nice. Guest time is already inside user and nice, so it is not added again; steal
 * (a hypervisor running someone else) counts as busy: it is time the job does not get.
 */
export function parseProcStat(text: string): Map<number, CoreTicks> {
  const out = new Map<number, CoreTicks>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    if (f.length < 4 || f.some((x) => !Number.isFinite(x))) continue;
    const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const busy = user + nice + system + irq + softirq + steal;
    out.set(Number(m[1]), { busy, total: busy + idle + iowait });
  }
  return out;
}

/**
 * The fraction of the agent's cores other processes used between `before` and `after`:
 * busy time over those cores, minus the agent's own CPU time, over the cores' time; in
 * [0, 1]. Null when no time passed on them (or no allowed core was in both samples).
 */
export function othersShare(before: CpuSample, after: CpuSample): OthersShare | null {
  const cores = after.cores.filter((c) => before.ticks.has(c) && after.ticks.has(c));
  let busy = 0;
  let total = 0;
  for (const c of cores) {
    const a = before.ticks.get(c)!;
    const b = after.ticks.get(c)!;
    busy += b.busy - a.busy;
    total += b.total - a.total;
  }
  const wallMs = after.wallMs - before.wallMs;
  if (cores.length === 0 || total <= 0 || wallMs <= 0) return null;
  const own = (after.ownCpuMs - before.ownCpuMs) / (wallMs * cores.length);
  return { share: clamp(busy / total - own, 0, 1), cores };
}

/** The fraction left for the job when others take `share`: what a `load` event says. */
export function fractionLeft(share: number): number {
  return clamp(1 - share, MIN_FRACTION_LEFT, 1);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
