import { availableParallelism } from 'node:os';

/**
 * The emulation's unit rate R (exemplars/s for speed 1), from `solo`, the kernel's
 * measured single-thread rate: all emulated workers together must fit the cores
 * (Σ speed × R ≤ cores × solo) and the fastest one must fit a single core
 * (max speed × R ≤ solo). `headroom` < 1 leaves room for the coordinator and noise.
 */
export function unitRate(
  solo: number,
  speeds: readonly number[],
  cores = availableParallelism(),
  headroom = 0.8,
): number {
  const total = speeds.reduce((a, b) => a + b, 0);
  const fastest = Math.max(...speeds);
  return headroom * Math.min((cores * solo) / total, solo / fastest);
}

/** Rows per chunk so that one chunk is about `chunkMs` of compute at `rate` exemplars/s (≥ 1). */
export function chunkRowsFor(rate: number, chunkMs = 1): number {
  return Math.max(1, Math.min(1024, Math.floor((rate * chunkMs) / 1000)));
}
