/** Jobs running Opt's kernel on a data set, driven pass by pass (fixed weights) by the benchmarks. */

import { initWeights, type NetworkShape } from '../../apps/opt/model/index.ts';
import type { ExemplarTable } from '../../framework/datasets/index.ts';
import { exemplarBytes } from '../../framework/exemplars/rows.ts';
import { columnsFromTable, type DataParallelJob, SeededRandom, startJob } from '../../framework/index.ts';

export const OPT_KERNEL = new URL('../../apps/opt/model/simd-kernel.ts', import.meta.url).href;

export interface OptJobSpec {
  readonly mode: 'adm' | 'plain';
  readonly train: ExemplarTable;
  readonly classes: number;
  readonly hidden: number;
  /** Declared speeds of h0…h(N−1). */
  readonly speeds: readonly number[];
  readonly emulate: boolean;
  /** Emulate these speeds instead of the declared ones (ADM must then learn them). */
  readonly emulatedSpeeds?: readonly number[];
  readonly minGain?: number;
  /**
   * The kernel's unthrottled single-worker rate (exemplars/s), measured once per benchmark
   * run (`measureSoloRate`): every job a benchmark compares gets the same one, so they all
   * emulate the same machine. Omitted, the job calibrates itself (never in a comparison).
   */
  readonly soloRate?: number;
  /** Cores the emulated hosts may use together (default: all); jobs compared must share it. */
  readonly emulationCores?: number;
  /** Compute time per chunk (default: the job's, 0.25 ms). */
  readonly chunkMs?: number;
  /** Rebalance on measured speeds without an event (default true; off where only events may move data). */
  readonly rebalance?: boolean;
  /** ADM: hand vacated rows over while computing (default true; false: stop every worker for the move). */
  readonly handOffWhileComputing?: boolean;
}

export interface OptJob {
  readonly job: DataParallelJob;
  readonly shape: NetworkShape;
  readonly weights: Float64Array;
  /** Restart the job's clock (ms since the run started, as in the reports). */
  resetClock(): void;
  now(): number;
}

export async function startOptJob(spec: OptJobSpec): Promise<OptJob> {
  const shape: NetworkShape = {
    inputs: spec.train.dim,
    hidden: spec.hidden,
    outputs: Math.max(2, spec.classes),
    loss: 'xent',
  };
  const weights = initWeights(shape, new SeededRandom(7));
  let t0 = performance.now();
  const now = () => performance.now() - t0;
  const job = await startJob(spec.mode, {
    kernelModule: OPT_KERNEL,
    kernelConfig: shape,
    train: columnsFromTable(spec.train.features, spec.train.labels, spec.train.dim),
    hosts: spec.speeds.map((speed, i) => ({ name: `h${i}`, speed })),
    emulateSpeeds: spec.emulate,
    emulatedSpeeds: spec.emulatedSpeeds,
    calibrationParams: weights,
    clock: now,
    minGain: spec.minGain,
    soloRate: spec.soloRate,
    emulationCores: spec.emulationCores,
    chunkMs: spec.chunkMs,
    rebalance: spec.rebalance,
    handOffWhileComputing: spec.handOffWhileComputing,
    waitTimeoutMs: 30_000,
  });
  return {
    job,
    shape,
    weights,
    now,
    resetClock: () => {
      t0 = performance.now();
    },
  };
}

/** Bytes one exemplar takes in the store: id, label (int32), features (float32), processed flag. */
export function bytesPerExemplar(dim: number): number {
  return exemplarBytes(dim);
}

/** The shared calibration of one benchmark run, as written into its JSON. */
export interface SharedCalibration {
  /** Passed as `soloRate` to every job the benchmark compares. */
  readonly soloRate: number;
  /** The framework's own 150 ms calibration of the one-worker job. */
  readonly frameworkCalibration: number;
  /** That job's rate over each of its timed passes (the worker's own elapsed time). */
  readonly passRates: readonly number[];
  readonly measuredAt: string;
}

/**
 * The kernel's unthrottled single-worker rate on this data and network, measured once by a
 * one-worker job, to be passed as `soloRate` to every job a benchmark compares. The highest
 * of the framework's calibration and a few timed passes: on a shared machine a moment of
 * contention only ever makes a measurement slower, so the fastest is the least disturbed.
 */
export async function measureSoloRate(
  spec: Pick<OptJobSpec, 'train' | 'classes' | 'hidden'>,
): Promise<SharedCalibration> {
  // A few thousand rows are plenty, and keep a 400 MB set from being copied.
  const n = Math.min(spec.train.count, 4096);
  const train = {
    count: n,
    dim: spec.train.dim,
    features: spec.train.features.subarray(0, n * spec.train.dim),
    labels: spec.train.labels.subarray(0, n),
  };
  const j = await startOptJob({ ...spec, train, mode: 'plain', speeds: [1], emulate: false });
  try {
    const frameworkCalibration = j.job.calibration().soloRate;
    const passRates: number[] = [];
    for (let p = 0; p < 5; p++) {
      await j.job.pass(j.weights);
      passRates.push(j.job.workers()[0].measuredRate ?? 0);
    }
    return {
      soloRate: Math.max(frameworkCalibration, ...passRates),
      frameworkCalibration,
      passRates,
      measuredAt: new Date().toISOString(),
    };
  } finally {
    await j.job.close();
  }
}
