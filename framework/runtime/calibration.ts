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

/**
 * Rows per chunk so that one chunk is about `chunkMs` of compute at `rate` exemplars/s: a
 * multiple of 16 (at least 16), because kernels work on blocks of rows (Opt's SIMD kernel on
 * 16, padding a short block; its JS kernel on 4) and a ragged tail in every chunk would pay
 * for a whole block, or run a slow one-row path, each time. A quarter of a
 * millisecond: a stop, and a hand-off's sender and receiver, each wait for the chunk in
 * progress (at 0.5 ms a 10 MB hand-off took ~3.0 ms, at 0.25 ms ~2.2 ms, medians of 10 fresh
 * jobs each), and chunking costs nothing measurable (Opt's 784-32-10 pass over 4,000 rows took
 * the same CPU time in chunks of 8 rows and of 1,024; `bench quiet` measures it every run).
 */
export function chunkRowsFor(rate: number, chunkMs = 0.25): number {
  const rows = Math.floor((rate * chunkMs) / 1000);
  return Math.min(1024, Math.max(16, rows - (rows % 16)));
}
