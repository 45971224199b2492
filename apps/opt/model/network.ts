import type { SeededRandom } from '../../../framework/util/random.ts';

/**
 * A one-hidden-layer classifier: `inputs` features → `hidden` sigmoid units → `outputs` classes.
 * `mse`: sigmoid outputs, error ½Σ(y−t)² against a one-hot target (the 1989 Opt).
 * `xent`: softmax outputs, cross-entropy error −log y[label].
 */
export interface NetworkShape {
  inputs: number;
  hidden: number;
  outputs: number;
  loss: 'mse' | 'xent';
}

/**
 * Flat weight layout, one Float64Array of `parameterCount(shape)` numbers:
 *
 *   [0, w1End)          W1, hidden × inputs, row-major: W1[j][i] at j·inputs + i
 *   [w1End, b1End)      b1, hidden
 *   [b1End, w2End)      W2, outputs × hidden, row-major: W2[k][j] at b1End + k·hidden + j
 *   [w2End, count)      b2, outputs
 *
 * W1 is row-major by hidden unit because the kernel's two big loops both walk one hidden
 * unit's input weights contiguously: the forward dot product W1[j]·x and the backward
 * outer-product update ∂W1[j] += δ_j·x. The gradient in the accumulator uses the same
 * layout, shifted by 2.
 */
export interface WeightLayout {
  w1: number;
  b1: number;
  w2: number;
  b2: number;
  count: number;
}

export function weightLayout(shape: NetworkShape): WeightLayout {
  const { inputs, hidden, outputs } = shape;
  const b1 = hidden * inputs;
  const w2 = b1 + hidden;
  const b2 = w2 + outputs * hidden;
  return { w1: 0, b1, w2, b2, count: b2 + outputs };
}

export function parameterCount(shape: NetworkShape): number {
  return weightLayout(shape).count;
}

/** Throws a TypeError naming the bad field unless `value` is a usable NetworkShape. */
export function assertNetworkShape(value: unknown): asserts value is NetworkShape {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`network shape must be an object {inputs, hidden, outputs, loss}, got ${value}`);
  }
  const record = value as Record<string, unknown>;
  for (const field of ['inputs', 'hidden', 'outputs'] as const) {
    const n = record[field];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new TypeError(`network shape: ${field} must be a positive integer, got ${String(n)}`);
    }
  }
  if ((record['outputs'] as number) < 2) {
    throw new TypeError('network shape: outputs must be at least 2 (one per class)');
  }
  if (record['loss'] !== 'mse' && record['loss'] !== 'xent') {
    throw new TypeError(`network shape: loss must be 'mse' or 'xent', got ${String(record['loss'])}`);
  }
}

/**
 * Random initial weights, uniform in ±1/√fan-in for each layer (biases included, fan-in
 * counted without the bias). This keeps the hidden pre-activations O(1) for inputs of unit
 * scale, so the sigmoids start in their sensitive range rather than saturated.
 */
export function initWeights(shape: NetworkShape, rng: SeededRandom): Float64Array {
  assertNetworkShape(shape);
  const layout = weightLayout(shape);
  const weights = new Float64Array(layout.count);
  const r1 = 1 / Math.sqrt(shape.inputs);
  const r2 = 1 / Math.sqrt(shape.hidden);
  for (let p = 0; p < layout.w2; p++) weights[p] = (2 * rng.next() - 1) * r1;
  for (let p = layout.w2; p < layout.count; p++) weights[p] = (2 * rng.next() - 1) * r2;
  return weights;
}
