import { type NetworkShape, weightLayout } from './network.ts';

/**
 * L2 weight decay on W1 and W2 (not the biases): error + (λ/2)·Σw², gradient + λ·w.
 *
 * Applied once, on the coordinator, to the MEAN error and gradient of a whole pass, never
 * per row: the workers' accumulators stay the plain data sums, so exactly-once and the
 * kernels are untouched, and λ means the same whatever the number of rows or workers.
 * `gradient` is changed in place; the decayed error is returned.
 */
export function addWeightDecay(
  shape: NetworkShape,
  lambda: number,
  weights: Float64Array,
  error: number,
  gradient: Float64Array,
): number {
  if (!(lambda >= 0 && Number.isFinite(lambda)))
    throw new RangeError(`weight decay must be ≥ 0, got ${lambda}`);
  if (lambda === 0) return error;
  const layout = weightLayout(shape);
  if (weights.length !== layout.count || gradient.length !== layout.count) {
    throw new RangeError(
      `weight decay: ${weights.length} weights and ${gradient.length} gradient entries, network has ${layout.count}`,
    );
  }
  let squares = 0;
  for (const [from, to] of [
    [layout.w1, layout.b1],
    [layout.w2, layout.b2],
  ]) {
    for (let p = from; p < to; p++) {
      const w = weights[p];
      squares += w * w;
      gradient[p] += lambda * w;
    }
  }
  return error + 0.5 * lambda * squares;
}
