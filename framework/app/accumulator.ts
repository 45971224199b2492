/**
 * Partial accumulators (the Float64 sums a `PassKernel` fills) added together. One small
 * function every job shares: its loop is optimised once and stays hot, where a loop
 * written inline in a closure over a reassigned variable ran several times slower on the
 * coordinator, in series after every pass.
 */

/** Adds `part` into `total` element by element and returns `total`. */
export function addAccumulator(total: Float64Array, part: Float64Array): Float64Array {
  const n = total.length;
  for (let j = 0; j < n; j++) total[j] += part[j];
  return total;
}
