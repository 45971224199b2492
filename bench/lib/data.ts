import { type Dataset, loadMnist, syntheticDataset } from '../../framework/datasets/index.ts';

/** Opt's data for the whole-run benchmarks: MNIST (8,000 training digits), or tiny synthetic data when quick. */
export async function optData(quick: boolean): Promise<Dataset> {
  return quick
    ? syntheticDataset({ count: 1200, dim: 16, classes: 4, seed: 3, testFraction: 0.25 })
    : loadMnist();
}

/**
 * Data for the benchmarks that compare pass times with an ideal that has no per-pass cost
 * (balance, adaptation): 24,000 synthetic 784-feature rows, so a pass of the SIMD kernel on
 * one emulated core lasts ~150 ms. On MNIST's 8,000 it lasted 49 ms, and the ~4 ms each pass
 * spends outside the kernels (requests reaching idle threads, replies) was 8–10 % of it: the
 * quiet benchmark measures that cost against the plain build; these measure the partition.
 */
export async function longPassData(quick: boolean): Promise<Dataset> {
  return quick
    ? optData(true)
    : syntheticDataset({ count: 30_000, dim: 784, classes: 10, seed: 3, testFraction: 0.2 });
}
