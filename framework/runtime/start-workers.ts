import { availableParallelism } from 'node:os';
import { RunFailure } from '../errors.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { copyIntoBatches, exemplarBytes } from '../exemplars/rows.ts';
import { checkHostSpeed, MAX_SPEED, MIN_SPEED, speedProblem } from '../partition/host-speed.ts';
import { unitRate } from './calibration.ts';
import { type FaultPlan, isWorkerFault } from './faults.ts';
import { threadTransport } from './thread-worker.ts';
import type { WorkerLink, WorkerTransport } from './worker-link.ts';

export interface HostSpec {
  readonly name: string;
  /** Declared rating, higher is faster. */
  readonly speed: number;
  /** Exemplar bytes the host may hold at most (an agent's --max-memory); no cap if absent. */
  readonly maxBytes?: number;
}

/** Each host's cap in exemplars (undefined: none), for rows of `rowBytes` bytes. */
export function maxCounts(hosts: readonly HostSpec[], rowBytes: number): (number | undefined)[] {
  return hosts.map((h) => (h.maxBytes === undefined ? undefined : Math.floor(h.maxBytes / rowBytes)));
}

export interface WorkerSetup {
  readonly links: WorkerLink[];
  /** Unthrottled single-worker rate of the kernel, exemplars/s (measured, or as given). */
  readonly soloRate: number;
  /** Emulated exemplars/s of a speed-1 host (null: not emulating). */
  readonly unitRate: number | null;
  /** The speed each worker is throttled to (× unitRate): the declared one unless overridden. */
  /** Grows when a host joins a running job. */
  readonly speeds: number[];
}

export interface StartOptions {
  hosts: readonly HostSpec[];
  kernelModule: string;
  kernelConfig: unknown;
  train: ExemplarColumns;
  shares: readonly number[];
  calibrationParams: Float64Array;
  emulateSpeeds: boolean;
  emulatedSpeeds?: readonly number[];
  /**
   * The kernel's unthrottled single-worker rate, exemplars/s, measured once elsewhere: no
   * calibration here. Jobs compared side by side share one, so they emulate the same machine.
   */
  soloRate?: number;
  /** Cores the emulated hosts may use together (default: every core of this machine). */
  emulationCores?: number;
  livenessMs?: number;
  injectFaults?: ReadonlyMap<number, FaultPlan>;
  transport?: WorkerTransport;
}

/** Problems with the options that need no worker to find: checked before any worker starts. */
export function validateStartOptions(options: StartOptions): void {
  const n = options.hosts.length;
  if (n === 0) throw new RangeError('a job needs at least one host');
  const names = new Set(options.hosts.map((h) => h.name));
  if (names.size !== n) throw new RangeError('host names must be distinct');
  for (const h of options.hosts) checkHostSpeed(h);
  const speeds = options.emulatedSpeeds;
  if (speeds !== undefined && (speeds.length !== n || speeds.some((s) => speedProblem(s) !== null))) {
    throw new RangeError(
      `emulatedSpeeds: need ${n} speeds between ${MIN_SPEED} and ${MAX_SPEED}, got ${speeds.join(', ')}`,
    );
  }
  if (options.soloRate !== undefined && !(Number.isFinite(options.soloRate) && options.soloRate > 0)) {
    throw new RangeError(`soloRate must be > 0, got ${options.soloRate}`);
  }
  const cores = options.emulationCores;
  if (cores !== undefined && !(Number.isFinite(cores) && cores > 0)) {
    throw new RangeError(`emulationCores must be > 0, got ${cores}`);
  }
  const total = options.shares.reduce((a, b) => a + b, 0);
  if (options.shares.length !== n || total !== options.train.count) {
    throw new RangeError(`shares must cover the ${options.train.count} exemplars over ${n} hosts`);
  }
  const caps = maxCounts(options.hosts, exemplarBytes(options.train.dim));
  options.shares.forEach((n, i) => {
    const cap = caps[i];
    if (cap !== undefined && n > cap) {
      throw new RunFailure(
        `host ${options.hosts[i].name} would start with ${n} exemplars, more than the ${cap} its memory cap allows; give it more memory, or add hosts`,
      );
    }
  });
  for (const w of options.injectFaults?.keys() ?? []) {
    if (!(Number.isInteger(w) && w >= 0 && w < n))
      throw new RangeError(`fault for worker ${w}: no such worker`);
  }
}

/**
 * Start one worker per host, hand each its initial share of `train` (rows are copied once
 * into batches of about 1 MB with buffers of their own, then transferred), and calibrate the kernel's speed so
 * emulated hosts can be throttled to their declared speeds. If anything fails, every
 * worker already started is closed before the error is passed on.
 */
export async function startWorkers(options: StartOptions): Promise<WorkerSetup> {
  validateStartOptions(options);
  const { hosts } = options;
  const transport = options.transport ?? threadTransport;
  const links: WorkerLink[] = [];
  try {
    // Starting a thread loads tsx and the kernel (about a second of CPU): a few at a time, so
    // 32 workers on 2 cores do not all time out together.
    const concurrent = Math.max(2, availableParallelism());
    for (let first = 0; first < hosts.length; first += concurrent) {
      const batch = hosts.slice(first, first + concurrent).map((h, k) =>
        transport.start({
          index: first + k,
          host: h.name,
          kernelModule: options.kernelModule,
          kernelConfig: options.kernelConfig,
          livenessMs: options.livenessMs ?? 3000,
          fault: options.injectFaults?.get(first + k),
        }),
      );
      const started = await Promise.allSettled(batch);
      for (const s of started) if (s.status === 'fulfilled') links.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    let offset = 0;
    const loads = await Promise.allSettled(
      links.map((link, i) => {
        const parts = copyIntoBatches(options.train, offset, offset + options.shares[i]);
        offset += options.shares[i];
        return link.insert(parts);
      }),
    );
    const failed = loads.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const speeds = options.emulatedSpeeds ?? hosts.map((h) => h.speed);
    const probe = links.find((_, i) => options.shares[i] > 0) ?? links[0];
    const soloRate = options.soloRate ?? (await probe.calibrate(options.calibrationParams, 150));
    const rate = options.emulateSpeeds ? unitRate(soloRate, speeds, options.emulationCores) : null;
    if (rate !== null) {
      const r = rate;
      speeds.forEach((s, i) => {
        links[i].setRateLimit(s * r);
      });
    }
    return { links, soloRate, unitRate: rate, speeds: [...speeds] };
  } catch (error) {
    await Promise.allSettled(links.map((l) => l.close()));
    throw error;
  }
}

/** `startWorkers`, with a worker that fails while starting or loading reported in one line. */
export async function startOrExplain(options: StartOptions): Promise<WorkerSetup> {
  try {
    return await startWorkers(options);
  } catch (error) {
    if (isWorkerFault(error)) throw new RunFailure(`could not start the job: ${error.message}`);
    throw error;
  }
}

/** Worker `i`'s emulated rate at full load, exemplars/s (null when not emulating). */
export function emulatedRate(setup: WorkerSetup, i: number): number | null {
  return setup.unitRate === null ? null : setup.speeds[i] * setup.unitRate;
}

/** Equal shares of `total` over `n` workers, the first ones taking one more. */
export function equalShares(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}
