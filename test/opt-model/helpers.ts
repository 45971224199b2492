import { initWeights, type NetworkShape } from '../../apps/opt/model/network.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { SeededRandom } from '../../framework/util/random.ts';

/** Wrap feature and label arrays as ExemplarColumns (ids 0..count-1, nothing processed). */
export function makeColumns(features: Float32Array, labels: Int32Array, dim: number): ExemplarColumns {
  const count = labels.length;
  if (features.length !== count * dim) throw new RangeError('features do not match labels × dim');
  const ids = new Int32Array(count);
  for (let n = 0; n < count; n++) ids[n] = n;
  return { count, dim, ids, labels, features, processed: new Uint8Array(count) };
}

/** Uniform random rows in [0, 1) and uniform random labels: for gradient checks and timing. */
export function randomColumns(seed: number, count: number, dim: number, classes: number): ExemplarColumns {
  const rng = new SeededRandom(seed);
  const features = new Float32Array(count * dim);
  for (let n = 0; n < features.length; n++) features[n] = rng.next();
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) labels[n] = rng.int(classes);
  return makeColumns(features, labels, dim);
}

/**
 * `classes` Gaussian blobs in 2-D, centres evenly on a circle of `radius`, standard
 * deviation `spread`: with radius 3 and spread 0.5 the classes are (almost surely) separable.
 */
export function blobs(
  seed: number,
  count: number,
  classes: number,
  radius = 3,
  spread = 0.5,
): ExemplarColumns {
  const rng = new SeededRandom(seed);
  const features = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const c = n % classes;
    const angle = (2 * Math.PI * c) / classes;
    labels[n] = c;
    features[2 * n] = radius * Math.cos(angle) + spread * rng.normal();
    features[2 * n + 1] = radius * Math.sin(angle) + spread * rng.normal();
  }
  return makeColumns(features, labels, 2);
}

/**
 * `classes` Gaussian clusters in `dim` dimensions: centres drawn uniformly in
 * [−separation, separation]^dim, unit-variance noise around them, labels cycling 0..classes-1.
 * With dim 10 and separation 1.5 a small network separates them (> 90 %) but not trivially.
 */
export function clusters(
  seed: number,
  count: number,
  classes: number,
  dim: number,
  separation = 1.5,
): ExemplarColumns {
  const rng = new SeededRandom(seed);
  const centres = new Float64Array(classes * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = (2 * rng.next() - 1) * separation;
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const c = n % classes;
    labels[n] = c;
    for (let i = 0; i < dim; i++) features[n * dim + i] = centres[c * dim + i] + rng.normal();
  }
  return makeColumns(features, labels, dim);
}

/**
 * A convex quadratic E(w) = ½ wᵀAw − bᵀw with A = QᵀQ + I (SPD, seeded), as an `Evaluate`
 * (error, gradient Aw − b), and its minimum value: conjugate-gradient methods should solve
 * it in about n iterations.
 */
export function quadratic(
  seed: number,
  n: number,
): {
  evaluate: (w: Float64Array) => Promise<{ error: number; gradient: Float64Array }>;
  minimum: number;
  solution: Float64Array;
} {
  const rng = new SeededRandom(seed);
  const q = new Float64Array(n * n);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? 1 : 0;
      for (let k = 0; k < n; k++) s += q[k * n + i] * q[k * n + j];
      a[i * n + j] = s;
    }
  }
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.normal();
  const gradientOf = (w: Float64Array): Float64Array => {
    const g = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = -b[i];
      for (let j = 0; j < n; j++) s += a[i * n + j] * w[j];
      g[i] = s;
    }
    return g;
  };
  const errorOf = (w: Float64Array, g: Float64Array): number => {
    // ½wᵀAw − bᵀw = ½wᵀ(Aw − b) − ½bᵀw
    let s = 0;
    for (let i = 0; i < n; i++) s += 0.5 * w[i] * g[i] - 0.5 * b[i] * w[i];
    return s;
  };
  // Solve A x = b by Gaussian elimination (A is SPD, no pivoting needed) for the minimum.
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / m[k * n + k];
      for (let j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j];
      x[i] -= f * x[k];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let j = i + 1; j < n; j++) s -= m[i * n + j] * x[j];
    x[i] = s / m[i * n + i];
  }
  return {
    evaluate: async (w) => {
      const g = gradientOf(w);
      return { error: errorOf(w, g), gradient: g };
    },
    minimum: errorOf(x, gradientOf(x)),
    solution: x,
  };
}

/** A seeded 10-feature, 3-class problem of 200 rows with a 10-8-3 network and its initial weights. */
export function smallProblem(loss: 'mse' | 'xent'): {
  shape: NetworkShape;
  rows: ExemplarColumns;
  initial: Float64Array;
} {
  const shape: NetworkShape = { inputs: 10, hidden: 8, outputs: 3, loss };
  return { shape, rows: clusters(1, 200, 3, 10), initial: initWeights(shape, new SeededRandom(2)) };
}
