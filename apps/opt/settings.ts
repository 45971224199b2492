import type { JobMode } from '../../framework/index.ts';

export type OptimizerName = 'scg' | 'prcg';
export type LossName = 'mse' | 'xent';
/** Opt's pass kernels: WebAssembly SIMD (simd-kernel.ts) or the plain-JS reference (kernel.ts). */
export type KernelName = 'simd' | 'js';

/** Everything that decides an Opt run apart from the data itself. */
export interface OptSettings {
  readonly hidden: number;
  readonly iterations: number;
  /**
   * L2 weight decay λ on W1 and W2 (apps/opt/model/weight-decay.ts). The default was chosen
   * by measurement on the default MNIST run: without it the net fits its 8,000 training
   * digits perfectly and tests at ~93.5 %; 3e-4 gives 94.2–94.7 % for seeds 1–3 at 150
   * iterations, 1e-3 underfits within them (93.6 %).
   */
  readonly weightDecay: number;
  /**
   * Fraction of the training rows held out, chosen by `seed`, on which the coordinator
   * scores every iteration; the run keeps the weights of the best one (0: no split, the
   * last iteration's weights). The test set never chooses weights.
   */
  readonly validationFraction: number;
  /**
   * Stop after this many iterations without a better validation accuracy, but never before
   * the trace's last iteration-timed event is applied (early-stopping.ts); 0: never.
   */
  readonly patience: number;
  readonly optimizer: OptimizerName;
  readonly loss: LossName;
  /** Every worker of a job runs this one kernel, on every host. */
  readonly kernel: KernelName;
  readonly mode: JobMode;
  readonly seed: number;
  /** Declared speed of each host h0…h(N−1); higher is faster. */
  readonly speeds: readonly number[];
  /** Throttle workers to their declared speeds (emulated heterogeneous hosts). */
  readonly emulate: boolean;
  readonly waitTimeoutMs: number;
  /** Minimum estimated gain before data moves for speed alone. */
  readonly minGain: number;
  /** Standardise features with training-set statistics. */
  readonly standardise: boolean;
}

export const DEFAULT_SETTINGS: OptSettings = {
  hidden: 32,
  iterations: 150,
  weightDecay: 3e-4,
  validationFraction: 0.1,
  patience: 0,
  optimizer: 'scg',
  loss: 'xent',
  kernel: 'simd',
  mode: 'adm',
  seed: 1,
  speeds: [1, 1, 2, 4],
  emulate: true,
  waitTimeoutMs: 60_000,
  minGain: 0.05,
  standardise: true,
};

export function hostNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `h${i}`);
}
