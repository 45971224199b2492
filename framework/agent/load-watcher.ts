/**
 * An agent's load watcher (`admove agent --load-watch`): every `sampleMs` it reads
 * /proc/stat, its affinity and its own CPU time, works out the share of its cores other
 * processes took (cpu-share.ts), and passes the fraction left for the job through the
 * debouncer (load-debouncer.ts). A change that lasts is handed on with the CPU pressure of
 * that moment (cpu-pressure.ts). The files are read here and nowhere else.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.ts';
import type { LoadReading } from '../net/protocol.ts';
import { parseSomeAvg10, pressureFileCandidates } from './cpu-pressure.ts';
import {
  allowedCores,
  type CpuSample,
  fractionLeft,
  type OthersShare,
  othersShare,
  parseProcStat,
} from './cpu-share.ts';
import { LoadDebouncer } from './load-debouncer.ts';

export interface LoadWatchOptions {
  /** Least change of the fraction left for the job worth an event. */
  readonly threshold: number;
  /** How long a change must last before it is told, ms. */
  readonly holdMs: number;
  /** How often the machine is looked at, ms. */
  readonly sampleMs: number;
}

/** The figures: a change of 0.15 that lasts 2 s; a look every half second. */
export const DEFAULT_LOAD_WATCH: LoadWatchOptions = { threshold: 0.15, holdMs: 2000, sampleMs: 500 };

const PROC_STAT = '/proc/stat';
const PROC_SELF_STATUS = '/proc/self/status';

export class LoadWatcher {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private last: CpuSample | null = null;
  private readonly debouncer: LoadDebouncer;
  /** Other processes' shares of the latest readings (a told change reports its hold's mean). */
  private readonly shares: number[] = [];

  private constructor(
    private readonly options: LoadWatchOptions,
    private readonly pressureFile: string | null,
    private readonly onChange: (reading: LoadReading) => void,
  ) {
    this.debouncer = new LoadDebouncer({ threshold: options.threshold, holdMs: options.holdMs });
  }

  /**
   * Start watching; `onChange` gets each change that lasted. Throws a UserError when the
   * machine has no /proc/stat to read (not Linux).
   */
  static async start(
    options: LoadWatchOptions,
    onChange: (reading: LoadReading) => void,
  ): Promise<LoadWatcher> {
    await assertWatchable();
    const watcher = new LoadWatcher(options, await findPressureFile(), onChange);
    watcher.last = await sample();
    watcher.schedule();
    return watcher;
  }

  /** What is watched, for the agent's log. */
  describe(): string {
    const cores = this.last?.cores ?? [];
    const pressure = this.pressureFile ? `CPU pressure from ${this.pressureFile}` : 'no CPU pressure file';
    return `core${cores.length === 1 ? '' : 's'} ${cores.join(',')} every ${this.options.sampleMs} ms; a change of ≥ ${this.options.threshold} lasting ${this.options.holdMs / 1000} s is told; ${pressure}`;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    // One look after the other (not an interval): a slow read never overlaps the next.
    this.timer = setTimeout(() => {
      this.look().then(
        () => this.schedule(),
        () => this.schedule(), // a failed read (a file briefly busy) skips one look
      );
    }, this.options.sampleMs);
    this.timer.unref();
  }

  private async look(): Promise<void> {
    const now = await sample();
    const before = this.last;
    this.last = now;
    if (this.stopped || before === null) return;
    const others = othersShare(before, now);
    if (others === null) return;
    // A hold is consecutive readings ending with this one: its shares are the last few.
    this.shares.push(others.share);
    if (this.shares.length > this.maxHoldReadings) this.shares.shift();
    const change = this.debouncer.observe(now.wallMs, fractionLeft(others.share));
    if (change === null) return;
    const shares = this.shares.slice(-change.samples);
    this.onChange(await this.reading(change, shares, others));
  }

  /** The most readings one hold can span: looks are at least `sampleMs` apart. */
  private get maxHoldReadings(): number {
    return Math.ceil(this.options.holdMs / this.options.sampleMs) + 1;
  }

  private async reading(
    change: { fraction: number; samples: number; heldMs: number },
    shares: readonly number[],
    others: OthersShare,
  ): Promise<LoadReading> {
    const someAvg10 = await readPressure(this.pressureFile);
    return {
      type: 'load-reading',
      fraction: change.fraction,
      othersShare: shares.reduce((s, x) => s + x, 0) / shares.length,
      cores: others.cores,
      pressure:
        someAvg10 === null || this.pressureFile === null ? null : { someAvg10, source: this.pressureFile },
      samples: change.samples,
      heldMs: change.heldMs,
    };
  }
}

/** Refuse `--load-watch` at once on a machine without /proc/stat (not Linux). */
export async function assertWatchable(): Promise<void> {
  try {
    const ticks = parseProcStat(await readFile(PROC_STAT, 'utf8'));
    if (ticks.size > 0) return;
  } catch {
    // not Linux, or no /proc: said below
  }
  throw new UserError(`--load-watch reads Linux's ${PROC_STAT}, which this machine does not have`);
}

async function sample(): Promise<CpuSample> {
  const [stat, status] = await Promise.all([
    readFile(PROC_STAT, 'utf8'),
    readFile(PROC_SELF_STATUS, 'utf8').catch(() => ''),
  ]);
  // Taken right after the read, so the counters and the agent's own time cover the same span.
  const usage = process.cpuUsage();
  const wallMs = performance.now();
  const ticks = parseProcStat(stat);
  return {
    ticks,
    // Without an affinity line, every core of /proc/stat is the agent's to use.
    cores: allowedCores(status) ?? [...ticks.keys()],
    ownCpuMs: (usage.user + usage.system) / 1000,
    wallMs,
  };
}

/** The first PSI file that reads as one: the agent's cgroup's, else the machine's; null if none. */
async function findPressureFile(): Promise<string | null> {
  const [cgroup, mountinfo] = await Promise.all([
    readFile('/proc/self/cgroup', 'utf8').catch(() => ''),
    readFile('/proc/self/mountinfo', 'utf8').catch(() => ''),
  ]);
  for (const file of pressureFileCandidates(cgroup, mountinfo)) {
    if ((await readPressure(file)) !== null) return file;
  }
  return null;
}

async function readPressure(file: string | null): Promise<number | null> {
  if (file === null) return null;
  try {
    return parseSomeAvg10(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
}
