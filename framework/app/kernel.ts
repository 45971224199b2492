import type { ExemplarColumns } from '../exemplars/columns.ts';

/**
 * The per-exemplar computation of a data-parallel app, run inside worker threads.
 * A pass over the data sums each exemplar's contribution into a float64 accumulator;
 * partial accumulators from all workers (and from interrupted pieces of a pass) are
 * added element-wise, so the sum is exact to float64 rounding whatever the partition.
 */
export interface PassKernel {
  /** Length of the accumulator for these parameters. */
  accumulatorLength(params: Float64Array, dim: number): number;
  /**
   * Add the contribution of rows [start, end) of `rows` into `acc`.
   * This is the inner loop: read the typed arrays directly, allocate nothing per row.
   */
  accumulate(
    rows: ExemplarColumns,
    start: number,
    end: number,
    params: Float64Array,
    acc: Float64Array,
  ): void;
}

/** A module that a worker thread imports to build its kernel: `export function createKernel(config)`. */
export interface KernelModule {
  createKernel(config: unknown): PassKernel;
}
