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
  checkLambda(lambda);
  if (lambda === 0) return error;
  const penalty = decayPenalty(shape, lambda, weights);
  forEachDecayed(shape, weights, gradient.length, (p, w) => {
    gradient[p] += lambda * w;
  });
  return error + penalty;
}

/**
 * The decay term (λ/2)·Σw² alone: what the error SCG minimises adds to the data's mean error.
 * Reports subtract it so the training error compares with the validation error (plain data).
 */
export function decayPenalty(shape: NetworkShape, lambda: number, weights: Float64Array): number {
  checkLambda(lambda);
  if (lambda === 0) return 0;
  let squares = 0;
  forEachDecayed(shape, weights, weights.length, (_, w) => {
    squares += w * w;
  });
  return 0.5 * lambda * squares;
}

function checkLambda(lambda: number): void {
  if (!(lambda >= 0 && Number.isFinite(lambda)))
    throw new RangeError(`weight decay must be ≥ 0, got ${lambda}`);
}

/** Calls `f` for each weight of W1 and W2 (not the biases), in place. */
function forEachDecayed(
  shape: NetworkShape,
  weights: Float64Array,
  gradientLength: number,
  f: (p: number, w: number) => void,
): void {
  const layout = weightLayout(shape);
  if (weights.length !== layout.count || gradientLength !== layout.count) {
    throw new RangeError(
      `weight decay: ${weights.length} weights and ${gradientLength} gradient entries, network has ${layout.count}`,
    );
  }
  for (const [from, to] of [
    [layout.w1, layout.b1],
    [layout.w2, layout.b2],
  ]) {
    for (let p = from; p < to; p++) f(p, weights[p]);
  }
}
