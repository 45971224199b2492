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
  /**
   * Optional. A pass (or a piece of one) starts: until `endPass`, every `accumulate` gets
   * these same `params` and `acc`, and nothing else reads or writes them. A kernel may then
   * keep working copies (in WebAssembly memory, say) instead of copying them in and out on
   * every call, so small chunks cost no more than big ones.
   */
  beginPass?(params: Float64Array, acc: Float64Array): void;
  /** Optional. Bring `acc` up to date with every row accumulated since `beginPass`. */
  endPass?(acc: Float64Array): void;
}

/** A module that a worker thread imports to build its kernel: `export function createKernel(config)`. */
export interface KernelModule<K extends PassKernel = PassKernel> {
  createKernel(config: unknown): K;
}
