import { availableParallelism } from 'node:os';
import { copyRows } from '../exemplars/batch.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { unitRate } from './calibration.ts';
import { WorkerControl } from './control.ts';
import type { FaultPlan } from './faults.ts';
import { ThreadWorker } from './thread-worker.ts';
import type { WorkerLink } from './worker-link.ts';

export interface HostSpec {
  readonly name: string;
  /** Declared rating, higher is faster. */
  readonly speed: number;
}

export interface WorkerSetup {
  readonly links: WorkerLink[];
  readonly control: WorkerControl;
  /** Unthrottled single-thread rate of the kernel, exemplars/s. */
  readonly soloRate: number;
  /** Emulated exemplars/s of a speed-1 host (null: not emulating). */
  readonly unitRate: number | null;
  /** The speed each worker is throttled to (× unitRate): the declared one unless overridden. */
  readonly speeds: readonly number[];
}

/**
 * Start one thread worker per host, hand each its initial share of `train` (rows are
 * copied once into per-worker buffers that are then transferred), and calibrate the
 * kernel's speed so emulated hosts can be throttled to their declared speeds.
 */
export async function startWorkers(options: {
  hosts: readonly HostSpec[];
  kernelModule: string;
  kernelConfig: unknown;
  train: ExemplarColumns;
  shares: readonly number[];
  calibrationParams: Float64Array;
  emulateSpeeds: boolean;
  emulatedSpeeds?: readonly number[];
  livenessMs?: number;
  injectFaults?: ReadonlyMap<number, FaultPlan>;
}): Promise<WorkerSetup> {
  const { hosts } = options;
  const control = new WorkerControl(hosts.length);
  // Starting a thread loads tsx and the kernel (about a second of CPU): a few at a time, so
  // 32 workers on 2 cores do not all time out together.
  const links: ThreadWorker[] = [];
  const concurrent = Math.max(2, availableParallelism());
  for (let first = 0; first < hosts.length; first += concurrent) {
    const batch = hosts.slice(first, first + concurrent).map((h, k) =>
      ThreadWorker.start({
        index: first + k,
        host: h.name,
        kernelModule: options.kernelModule,
        kernelConfig: options.kernelConfig,
        control,
        livenessMs: options.livenessMs,
        fault: options.injectFaults?.get(first + k),
      }),
    );
    links.push(...(await Promise.all(batch)));
  }
  let offset = 0;
  await Promise.all(
    links.map((link, i) => {
      const part = copyRows(options.train, offset, offset + options.shares[i]);
      offset += options.shares[i];
      return link.insert([part]);
    }),
  );
  const probe = links.find((_, i) => options.shares[i] > 0) ?? links[0];
  const soloRate = await probe.calibrate(options.calibrationParams, 150);
  const speeds = options.emulatedSpeeds ?? hosts.map((h) => h.speed);
  if (speeds.length !== hosts.length || !speeds.every((s) => Number.isFinite(s) && s > 0)) {
    throw new RangeError(`emulatedSpeeds: need ${hosts.length} speeds > 0, got ${speeds.join(', ')}`);
  }
  let rate: number | null = null;
  if (options.emulateSpeeds) {
    rate = unitRate(soloRate, speeds);
    speeds.forEach((s, i) => {
      control.setRateLimit(i, s * rate!);
    });
  }
  return { links, control, soloRate, unitRate: rate, speeds };
}

/** Worker `i`'s emulated rate at full load, exemplars/s (null when not emulating). */
export function emulatedRate(setup: WorkerSetup, i: number): number | null {
  return setup.unitRate === null ? null : setup.speeds[i] * setup.unitRate;
}

/** Equal shares of `total` over `n` workers, the first ones taking one more. */
export function equalShares(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}
