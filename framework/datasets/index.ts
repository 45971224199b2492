/** Data sets for apps: CSV files, the embedded MNIST digits, synthetic data, standardisation. */

export {
  type CsvOptions,
  loadCsvDataset,
  loadUnsplitCsv,
  type UnsplitCsvOptions,
  type UnsplitRows,
} from './csv.ts';
export type { ColumnRef } from './csv-columns.ts';
export { loadMnist, MNIST_SPLIT_SEED, type MnistOptions } from './mnist.ts';
export { accessError, formatBytes } from './read-file.ts';
export type { SplitSpec } from './split.ts';
export {
  applyStandardisation,
  applyStandardisationInPlace,
  fitStandardisation,
  type StandardisationJson,
  standardisationFromJson,
  standardisationToJson,
} from './standardise.ts';
export { type SyntheticOptions, syntheticDataset } from './synthetic.ts';
export type { CsvLayout, Dataset, ExemplarTable, Standardisation } from './types.ts';
