import { type Dataset, loadMnist, syntheticDataset } from '../../framework/datasets/index.ts';

/** Opt's data for the whole-run benchmarks: MNIST (8,000 training digits), or tiny synthetic data when quick. */
export async function optData(quick: boolean): Promise<Dataset> {
  return quick
    ? syntheticDataset({ count: 1200, dim: 16, classes: 4, seed: 3, testFraction: 0.25 })
    : loadMnist();
}
