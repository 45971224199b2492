import type { PassKernel } from '../../../framework/app/kernel.ts';
import type { ExemplarColumns } from '../../../framework/exemplars/columns.ts';
import { assertNetworkShape, type NetworkShape, parameterCount, weightLayout } from './network.ts';

/**
 * Opt's pass kernel: summed error and summed gradient over a range of exemplars.
 *
 * Accumulator layout (float64, length 2 + parameterCount):
 *   acc[0]      Σ error over the rows  (mse: ½Σ_k(y_k−t_k)², xent: −log y[label])
 *   acc[1]      number of rows counted
 *   acc[2 + p]  Σ ∂error/∂weights[p], in the flat weight layout of network.ts
 * Sums, not means, so partials from any partition of the data simply add; the
 * coordinator divides by acc[1].
 *
 * Speed: almost all the work is the two hidden-layer loops over W1 (hidden × inputs):
 * the forward dot products and the backward outer-product update of ∂W1. Rows are taken
 * BLOCK at a time, with the block's features copied (once, as float64) into an
 * interleaved scratch xb[i·BLOCK + r], and both loops run a register tile of two hidden
 * units × four rows. Each W1 weight is then loaded once per block instead of once per
 * row, and each ∂W1 element is read-modified-written once per block, which is what bounds
 * a row-at-a-time loop (≈4× slower on 784-32-10). Leftover rows (< BLOCK) go one at a time.
 * Splitting a range therefore regroups float64 sums: results agree to rounding, not bits.
 */
const BLOCK = 4;

/** Opt's kernel: a pass kernel that also classifies rows (test and validation accuracy, on the coordinator). */
export interface OptKernel extends PassKernel {
  /** The class of each of `count` rows of `dim` features: the arg-max output. */
  predict(features: Float32Array, count: number, dim: number, weights: Float64Array): Int32Array;
}

export function createOptKernel(shape: NetworkShape): OptKernel {
  assertNetworkShape(shape);
  const I = shape.inputs;
  const H = shape.hidden;
  const O = shape.outputs;
  const xent = shape.loss === 'xent';
  const layout = weightLayout(shape);
  const P = layout.count;
  // Offsets of b1, W2 and b2 in the weights, as locals so the loops do not reload `layout`.
  const B1 = layout.b1;
  const W2 = layout.w2;
  const B2 = layout.b2;
  // Offsets of each block of the gradient inside acc (the weight layout shifted by 2).
  const gW1 = 2 + layout.w1;
  const gB1 = 2 + B1;
  const gW2 = 2 + W2;
  const gB2 = 2 + B2;

  // Scratch, sized once per kernel instance: nothing is allocated per call or per row.
  const xb = new Float64Array(I * BLOCK); // features of the block, interleaved by row
  const hb = new Float64Array(H * BLOCK); // hidden activations h[j·BLOCK + r]
  const db = new Float64Array(H * BLOCK); // hidden deltas, same layout
  const ob = new Float64Array(O * BLOCK); // output pre-activations, then output deltas

  /**
   * Forward through W1 for a full block: hb = sigmoid(W1·x + b1). The register tile is two
   * hidden units × four rows: per input i, two weight loads and four feature loads feed
   * eight multiply-adds (a row-at-a-time loop does two loads per multiply-add). Measured
   * faster than 1×4 and 1×8 tiles, which run out of registers or reuse less.
   */
  function hiddenForward4(w: Float64Array): void {
    let j = 0;
    for (; j + 2 <= H; j += 2) {
      const ra = j * I;
      const rc = ra + I;
      const ba = w[B1 + j];
      const bc = w[B1 + j + 1];
      let a0 = ba;
      let a1 = ba;
      let a2 = ba;
      let a3 = ba;
      let c0 = bc;
      let c1 = bc;
      let c2 = bc;
      let c3 = bc;
      for (let i = 0, k = 0; i < I; i++, k += 4) {
        const wa = w[ra + i];
        const wc = w[rc + i];
        const x0 = xb[k];
        const x1 = xb[k + 1];
        const x2 = xb[k + 2];
        const x3 = xb[k + 3];
        a0 += wa * x0;
        a1 += wa * x1;
        a2 += wa * x2;
        a3 += wa * x3;
        c0 += wc * x0;
        c1 += wc * x1;
        c2 += wc * x2;
        c3 += wc * x3;
      }
      const h = j * 4;
      hb[h] = 1 / (1 + Math.exp(-a0));
      hb[h + 1] = 1 / (1 + Math.exp(-a1));
      hb[h + 2] = 1 / (1 + Math.exp(-a2));
      hb[h + 3] = 1 / (1 + Math.exp(-a3));
      hb[h + 4] = 1 / (1 + Math.exp(-c0));
      hb[h + 5] = 1 / (1 + Math.exp(-c1));
      hb[h + 6] = 1 / (1 + Math.exp(-c2));
      hb[h + 7] = 1 / (1 + Math.exp(-c3));
    }
    // An odd hidden count leaves one unit, done row by row.
    if (j < H) for (let r = 0; r < BLOCK; r++) hiddenForward1(w, r, j);
  }

  /** ∂W1 += δ_hidden ⊗ x for a full block, same 2×4 tile: each ∂W1 element is updated once per four rows. */
  function hiddenBackward4(acc: Float64Array): void {
    let j = 0;
    for (; j + 2 <= H; j += 2) {
      const d = j * 4;
      const a0 = db[d];
      const a1 = db[d + 1];
      const a2 = db[d + 2];
      const a3 = db[d + 3];
      const c0 = db[d + 4];
      const c1 = db[d + 5];
      const c2 = db[d + 6];
      const c3 = db[d + 7];
      const ga = gW1 + j * I;
      const gc = ga + I;
      for (let i = 0, k = 0; i < I; i++, k += 4) {
        const x0 = xb[k];
        const x1 = xb[k + 1];
        const x2 = xb[k + 2];
        const x3 = xb[k + 3];
        acc[ga + i] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
        acc[gc + i] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
      }
    }
    if (j < H) for (let r = 0; r < BLOCK; r++) hiddenBackward1(acc, r, j);
  }

  /** The same two loops for one row r of the block, hidden units from j0 on. */
  function hiddenForward1(w: Float64Array, r: number, j0: number): void {
    for (let j = j0; j < H; j++) {
      const row = j * I;
      let s = w[B1 + j];
      for (let i = 0, k = r; i < I; i++, k += BLOCK) s += w[row + i] * xb[k];
      hb[j * BLOCK + r] = 1 / (1 + Math.exp(-s));
    }
  }

  function hiddenBackward1(acc: Float64Array, r: number, j0: number): void {
    for (let j = j0; j < H; j++) {
      const dj = db[j * BLOCK + r];
      const g = gW1 + j * I;
      for (let i = 0, k = r; i < I; i++, k += BLOCK) acc[g + i] += dj * xb[k];
    }
  }

  /**
   * Output layer, loss, and backpropagation to the hidden deltas for rows 0..n-1 of the
   * block. This is O(outputs·hidden) per row, small beside the W1 loops, so it stays plain.
   */
  function outputLayer(
    w: Float64Array,
    labels: Int32Array,
    first: number,
    n: number,
    acc: Float64Array,
  ): void {
    let error = 0;
    for (let r = 0; r < n; r++) {
      const label = labels[first + r];
      if (!(label >= 0 && label < O)) {
        throw new RangeError(`opt kernel: row ${first + r} has label ${label}, expected 0..${O - 1}`);
      }
      // Pre-activations a_k = b2_k + W2[k]·h.
      let max = -Infinity;
      for (let k = 0; k < O; k++) {
        const row = W2 + k * H;
        let s = w[B2 + k];
        for (let j = 0; j < H; j++) s += w[row + j] * hb[j * BLOCK + r];
        ob[k * BLOCK + r] = s;
        if (s > max) max = s;
      }
      // Replace a_k by δ_k = ∂error/∂a_k.
      if (xent) {
        // Softmax shifted by the max so exp cannot overflow; error = log Σ e^(a−max) − (a_label − max).
        // Taken from the pre-activation, not as log(e^(a_label−max)): that exponential can
        // underflow to 0 for a confidently wrong row, which would make the error infinite.
        const shifted = ob[label * BLOCK + r] - max;
        let sum = 0;
        for (let k = 0; k < O; k++) {
          const e = Math.exp(ob[k * BLOCK + r] - max);
          ob[k * BLOCK + r] = e;
          sum += e;
        }
        error += Math.log(sum) - shifted;
        const inv = 1 / sum;
        for (let k = 0; k < O; k++) ob[k * BLOCK + r] = ob[k * BLOCK + r] * inv - (k === label ? 1 : 0);
      } else {
        for (let k = 0; k < O; k++) {
          const y = 1 / (1 + Math.exp(-ob[k * BLOCK + r]));
          const diff = y - (k === label ? 1 : 0);
          error += 0.5 * diff * diff;
          ob[k * BLOCK + r] = diff * y * (1 - y);
        }
      }
      // Hidden deltas δ_j = h_j(1−h_j)·Σ_k W2[k][j]·δ_k.
      for (let j = 0; j < H; j++) {
        let s = 0;
        for (let k = 0; k < O; k++) s += w[W2 + k * H + j] * ob[k * BLOCK + r];
        const h = hb[j * BLOCK + r];
        db[j * BLOCK + r] = s * h * (1 - h);
      }
    }
    acc[0] += error;
    acc[1] += n;
    // Gradients of W2, b2 and b1, summed over the block's rows.
    for (let k = 0; k < O; k++) {
      const g = gW2 + k * H;
      let sb = 0;
      for (let r = 0; r < n; r++) sb += ob[k * BLOCK + r];
      acc[gB2 + k] += sb;
      for (let j = 0; j < H; j++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += ob[k * BLOCK + r] * hb[j * BLOCK + r];
        acc[g + j] += s;
      }
    }
    for (let j = 0; j < H; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += db[j * BLOCK + r];
      acc[gB1 + j] += s;
    }
  }

  /** Rows [first, first+n) with n ≤ BLOCK. */
  function block(rows: ExemplarColumns, first: number, n: number, w: Float64Array, acc: Float64Array): void {
    const x = rows.features;
    for (let r = 0; r < n; r++) {
      const base = (first + r) * I;
      for (let i = 0, k = r; i < I; i++, k += BLOCK) xb[k] = x[base + i];
    }
    if (n === BLOCK) hiddenForward4(w);
    else for (let r = 0; r < n; r++) hiddenForward1(w, r, 0);
    outputLayer(w, rows.labels, first, n, acc);
    if (n === BLOCK) hiddenBackward4(acc);
    else for (let r = 0; r < n; r++) hiddenBackward1(acc, r, 0);
  }

  function check(dim: number, params: Float64Array): void {
    if (dim !== I) throw new RangeError(`opt kernel: rows have ${dim} features, network expects ${I}`);
    if (params.length !== P) {
      throw new RangeError(`opt kernel: ${params.length} weights given, network ${I}-${H}-${O} has ${P}`);
    }
  }

  return {
    accumulatorLength(params: Float64Array, dim: number): number {
      check(dim, params);
      return 2 + P;
    },
    accumulate(rows: ExemplarColumns, start: number, end: number, params: Float64Array, acc: Float64Array) {
      check(rows.dim, params);
      if (!(start >= 0 && start <= end && end <= rows.count)) {
        throw new RangeError(`opt kernel: range [${start}, ${end}) outside 0..${rows.count}`);
      }
      if (acc.length < 2 + P)
        throw new RangeError(`opt kernel: accumulator has ${acc.length}, needs ${2 + P}`);
      let r = start;
      for (; r + BLOCK <= end; r += BLOCK) block(rows, r, BLOCK, params, acc);
      if (r < end) block(rows, r, end - r, params, acc);
    },
    predict(features: Float32Array, count: number, dim: number, weights: Float64Array): Int32Array {
      return predictClasses(shape, weights, features, count, dim);
    },
  };
}

/** Entry point for a worker thread that imports this module by URL; config is the NetworkShape. */
export function createKernel(config: unknown): OptKernel {
  assertNetworkShape(config);
  return createOptKernel(config);
}

/** Class of each row: the arg-max output (sigmoid and softmax are monotone, so pre-activations suffice). */
export function predictClasses(
  shape: NetworkShape,
  weights: Float64Array,
  features: Float32Array,
  count: number,
  dim: number,
): Int32Array {
  assertNetworkShape(shape);
  const { inputs: I, hidden: H, outputs: O } = shape;
  const layout = weightLayout(shape);
  if (dim !== I) throw new RangeError(`predictClasses: rows have ${dim} features, network expects ${I}`);
  if (weights.length !== layout.count) throw new RangeError('predictClasses: weights do not fit the shape');
  if (features.length < count * dim) {
    throw new RangeError(`predictClasses: ${features.length} feature values for ${count} rows of ${dim}`);
  }
  const h = new Float64Array(H);
  const out = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const base = n * I;
    for (let j = 0; j < H; j++) {
      let s = weights[layout.b1 + j];
      for (let i = 0; i < I; i++) s += weights[j * I + i] * features[base + i];
      h[j] = 1 / (1 + Math.exp(-s));
    }
    out[n] = classOf(layout, H, O, weights, h);
  }
  return out;
}

/** The arg-max output for hidden activations `h` (every kernel's prediction ends here). */
export function classOf(
  layout: { readonly w2: number; readonly b2: number },
  H: number,
  O: number,
  weights: Float64Array,
  h: Float64Array,
): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let k = 0; k < O; k++) {
    let s = weights[layout.b2 + k];
    for (let j = 0; j < H; j++) s += weights[layout.w2 + k * H + j] * h[j];
    if (s > bestValue) {
      bestValue = s;
      best = k;
    }
  }
  return best;
}

/** Fraction of rows whose predicted class equals the label. */
export function accuracy(predicted: Int32Array, labels: Int32Array): number {
  if (predicted.length > labels.length) throw new RangeError('accuracy: more predictions than labels');
  if (predicted.length === 0) return 0;
  let right = 0;
  for (let n = 0; n < predicted.length; n++) if (predicted[n] === labels[n]) right++;
  return right / predicted.length;
}

/**
 * One whole pass in this thread: MEAN error and MEAN gradient over all rows, the form the
 * optimisers' `evaluate` callbacks return. For tests and small problems.
 */
export function evaluateFull(
  shape: NetworkShape,
  weights: Float64Array,
  columns: ExemplarColumns,
): { error: number; gradient: Float64Array; count: number } {
  const kernel = createOptKernel(shape);
  const acc = new Float64Array(kernel.accumulatorLength(weights, columns.dim));
  kernel.accumulate(columns, 0, columns.count, weights, acc);
  const count = acc[1];
  const scale = count > 0 ? 1 / count : 0;
  const gradient = new Float64Array(parameterCount(shape));
  for (let p = 0; p < gradient.length; p++) gradient[p] = acc[2 + p] * scale;
  return { error: acc[0] * scale, gradient, count };
}
