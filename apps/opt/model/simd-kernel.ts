import type { ExemplarColumns } from '../../../framework/exemplars/columns.ts';
import { classOf, type OptKernel } from './kernel.ts';
import { assertNetworkShape, type NetworkShape, weightLayout } from './network.ts';
import { optKernelWasm } from './simd/wasm-bytes.ts';

/**
 * Opt's pass kernel in WebAssembly with 128-bit SIMD (simd/opt-kernel.wat): the accumulator
 * of kernel.ts (the reference), to about 1e-13 relative. This file lays out linear memory,
 * copies rows and weights in and the gradient out, and sums the loss (log is not in wasm).
 *
 * Float64 throughout, as the reference (why not float32: see the .wat); what differs is
 * only the order of the sums (2 SIMD lanes) and wasm's own e^x (Taylor, ~1e-16).
 *
 * Rows go through in blocks of BLOCK; a short last block is padded with zero rows whose
 * deltas are 0, so every row, wherever it falls, takes exactly the same arithmetic, and any
 * split of a range regroups only float64 sums over rows (chunks agree to ~1e-15).
 *
 * A call copies W1 and its gradient into linear memory and the gradient back out (three
 * copies of hidden × inputs float64, ~25 µs at 784-32-10, 5 % of a half-millisecond chunk):
 * linear memory cannot alias the caller's arrays, and telling unchanged weights from changed
 * ones would cost a comparison as long as the copy. So a pass opens a session (`beginPass`):
 * the copies are made once, calls with the session's own arrays skip them, and `endPass`
 * stores the gradient back. Per block of BLOCK rows: the float32 rows are
 * copied in as they are, and wasm converts and interleaves them (`stage`).
 */
const BLOCK = 16; // baked into the .wat's offsets

/** Bytes of linear memory, 16-aligned pieces, and the 64 KiB pages that hold them. */
function layoutMemory(sizes: readonly number[]): { offsets: number[]; pages: number } {
  const offsets: number[] = [];
  let at = 0;
  for (const size of sizes) {
    offsets.push(at);
    at += Math.ceil(size / 16) * 16;
  }
  return { offsets, pages: Math.ceil(at / 65536) };
}

interface WasmExports {
  memory: WebAssembly.Memory;
  stage(xf: number, xi: number, ip: number, n: number): void;
  pack(wr: number, w: number, ip: number, hp: number): void;
  forward(xi: number, w: number, z: number, ip: number, hp: number): void;
  backward(xi: number, d: number, g: number, ip: number, hp: number): void;
  output(
    z: number,
    d: number,
    hp: number,
    o: number,
    n: number,
    b1: number,
    w2: number,
    b2: number,
    labels: number,
    ob: number,
    err: number,
    gb1: number,
    gw2: number,
    gb2: number,
    mse: number,
  ): void;
}

export function createSimdKernel(shape: NetworkShape): OptKernel {
  assertNetworkShape(shape);
  const I = shape.inputs;
  const H = shape.hidden;
  const O = shape.outputs;
  const xent = shape.loss === 'xent';
  const layout = weightLayout(shape);
  const P = layout.count;
  const B1 = layout.b1;
  const W2 = layout.w2;
  const B2 = layout.b2;
  const gB1 = 2 + B1;
  const gW2 = 2 + W2;
  const gB2 = 2 + B2;
  // Inputs padded to whole 8-wide tiles, hidden units to pairs; the padding is zero.
  const IP = Math.ceil(I / 8) * 8;
  const HP = H + (H % 2);

  const { offsets, pages } = layoutMemory([
    256, // the .wat's constants
    HP * IP * 8, // wr: W1 row-major
    HP * IP * 8, // w: W1 packed (see the .wat)
    BLOCK * IP * 4, // xf: the block's features, float32
    BLOCK * IP * 8, // xi: the same, float64, interleaved
    BLOCK * HP * 8, // z
    BLOCK * HP * 8, // d
    HP * IP * 8, // g: W1's gradient
    HP * 8, // b1
    O * HP * 8, // w2
    O * 8, // b2
    BLOCK * 8, // labels, as float64
    O * BLOCK * 8, // ob: output pre-activations, then deltas, [O][BLOCK]
    BLOCK * 16, // err: two numbers per row (see the .wat)
    HP * 16, // gb1: lane pairs
    O * HP * 16, // gw2: lane pairs
    O * 16, // gb2: lane pairs
  ]);
  const [, WR, WP, XF, XI, Z, D, G, B1W, W2W, B2W, LAB, OB, ERR, GB1, GW2, GB2] = offsets;
  const instance = new WebAssembly.Instance(optKernelWasm);
  const wasm = instance.exports as unknown as WasmExports;
  const have = wasm.memory.buffer.byteLength / 65536;
  if (pages > have) wasm.memory.grow(pages - have);
  // Views made after the one growth: the memory never grows again, so they stay valid.
  const buffer = wasm.memory.buffer;
  const wr = new Float64Array(buffer, WR, HP * IP);
  const xf = new Float32Array(buffer, XF, BLOCK * IP);
  const g = new Float64Array(buffer, G, HP * IP);
  const b1 = new Float64Array(buffer, B1W, HP);
  const w2 = new Float64Array(buffer, W2W, O * HP);
  const b2 = new Float64Array(buffer, B2W, O);
  const labelBlock = new Float64Array(buffer, LAB, BLOCK);
  const err = new Float64Array(buffer, ERR, BLOCK * 2);
  const gb1 = new Float64Array(buffer, GB1, HP * 2);
  const gw2 = new Float64Array(buffer, GW2, O * HP * 2);
  const gb2 = new Float64Array(buffer, GB2, O * 2);

  /**
   * The weights into linear memory and acc's gradient beside them, to be accumulated in
   * place and copied back by `store`. The padding (units H..HP-1, inputs I..IP-1) stays zero
   * throughout. The small gradients (b1, W2, b2) live as lane pairs: acc's value in lane 0.
   */
  function load(w: Float64Array, acc: Float64Array): void {
    loadWeights(w);
    if (IP === I) g.set(acc.subarray(2, 2 + H * I));
    else for (let j = 0; j < H; j++) g.set(acc.subarray(2 + j * I, 2 + (j + 1) * I), j * IP);
    gb1.fill(0);
    gw2.fill(0);
    gb2.fill(0);
    for (let j = 0; j < H; j++) gb1[2 * j] = acc[gB1 + j];
    for (let k = 0; k < O; k++) {
      for (let j = 0; j < H; j++) gw2[2 * (k * HP + j)] = acc[gW2 + k * H + j];
      gb2[2 * k] = acc[gB2 + k];
    }
  }

  /** The weights alone (a prediction needs no gradient). */
  function loadWeights(w: Float64Array): void {
    if (IP === I) wr.set(w.subarray(0, H * I));
    else for (let j = 0; j < H; j++) wr.set(w.subarray(j * I, (j + 1) * I), j * IP);
    wasm.pack(WR, WP, IP, HP);
    b1.set(w.subarray(B1, B1 + H));
    for (let k = 0; k < O; k++) w2.set(w.subarray(W2 + k * H, W2 + (k + 1) * H), k * HP);
    b2.set(w.subarray(B2, B2 + O));
  }

  /** The gradient back from linear memory into acc. */
  function store(acc: Float64Array): void {
    if (IP === I) acc.set(g.subarray(0, H * I), 2);
    else for (let j = 0; j < H; j++) acc.set(g.subarray(j * IP, j * IP + I), 2 + j * I);
    for (let j = 0; j < H; j++) acc[gB1 + j] = gb1[2 * j] + gb1[2 * j + 1];
    for (let k = 0; k < O; k++) {
      for (let j = 0; j < H; j++) {
        const at = 2 * (k * HP + j);
        acc[gW2 + k * H + j] = gw2[at] + gw2[at + 1];
      }
      acc[gB2 + k] = gb2[2 * k] + gb2[2 * k + 1];
    }
  }

  /** Features and labels of rows [first, first+n) into linear memory; `stage` pads the rest. */
  function copyRows(rows: ExemplarColumns, first: number, n: number): void {
    copyFeatures(rows.features, first, n);
    labelBlock.set(rows.labels.subarray(first, first + n));
  }

  function copyFeatures(features: Float32Array, first: number, n: number): void {
    if (IP === I) {
      xf.set(features.subarray(first * I, (first + n) * I));
    } else {
      for (let r = 0; r < n; r++) xf.set(features.subarray((first + r) * I, (first + r + 1) * I), r * IP);
    }
  }

  // The hidden pre-activations `forward` leaves: z[j·BLOCK + r] (unit j, row r of the block).
  const z = new Float64Array(buffer, Z, BLOCK * HP);
  const h = new Float64Array(H);

  /**
   * Classes of rows [0, count): W1 in wasm (the dominant product, as in a pass), the rest in
   * JS: per row a sigmoid per hidden unit and hidden × outputs multiply-adds.
   */
  function predict(features: Float32Array, count: number, weights: Float64Array): Int32Array {
    endSession(); // the weights in linear memory are about to change
    loadWeights(weights);
    const out = new Int32Array(count);
    for (let first = 0; first < count; first += BLOCK) {
      const n = Math.min(BLOCK, count - first);
      copyFeatures(features, first, n);
      wasm.stage(XF, XI, IP, n);
      wasm.forward(XI, WP, Z, IP, HP);
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < H; j++) h[j] = 1 / (1 + Math.exp(-(z[j * BLOCK + r] + weights[B1 + j])));
        out[first + r] = classOf(layout, H, O, weights, h);
      }
    }
    return out;
  }

  function check(dim: number, params: Float64Array): void {
    if (dim !== I) throw new RangeError(`opt simd kernel: rows have ${dim} features, network expects ${I}`);
    if (params.length !== P) {
      throw new RangeError(
        `opt simd kernel: ${params.length} weights given, network ${I}-${H}-${O} has ${P}`,
      );
    }
  }

  function checkAcc(acc: Float64Array): void {
    if (acc.length < 2 + P)
      throw new RangeError(`opt simd kernel: accumulator has ${acc.length}, needs ${2 + P}`);
  }

  /**
   * The pass whose weights and gradient live in linear memory between calls (`beginPass`),
   * or null: each call then loads and stores them itself.
   */
  let session: { readonly params: Float64Array; readonly acc: Float64Array } | null = null;

  function endSession(): void {
    if (session === null) return;
    store(session.acc);
    session = null;
  }

  return {
    accumulatorLength(params: Float64Array, dim: number): number {
      check(dim, params);
      return 2 + P;
    },
    beginPass(params: Float64Array, acc: Float64Array): void {
      endSession();
      check(I, params);
      checkAcc(acc);
      load(params, acc);
      session = { params, acc };
    },
    endPass(): void {
      endSession();
    },
    predict(features: Float32Array, count: number, dim: number, weights: Float64Array): Int32Array {
      check(dim, weights);
      if (features.length < count * dim) {
        throw new RangeError(
          `opt simd kernel: ${features.length} feature values for ${count} rows of ${dim}`,
        );
      }
      return predict(features, count, weights);
    },
    accumulate(rows: ExemplarColumns, start: number, end: number, params: Float64Array, acc: Float64Array) {
      check(rows.dim, params);
      if (!(start >= 0 && start <= end && end <= rows.count)) {
        throw new RangeError(`opt simd kernel: range [${start}, ${end}) outside 0..${rows.count}`);
      }
      checkAcc(acc);
      // Labels first: a bad one must throw before acc is touched.
      const labels = rows.labels;
      for (let r = start; r < end; r++) {
        const label = labels[r];
        if (!(label >= 0 && label < O)) {
          throw new RangeError(`opt simd kernel: row ${r} has label ${label}, expected 0..${O - 1}`);
        }
      }
      if (start === end) return;
      // Inside a session for these arrays, the weights and gradient are already in place.
      const inSession = session !== null && session.params === params && session.acc === acc;
      if (!inSession) {
        endSession(); // a call outside the session's arrays: the session is over
        load(params, acc);
      }
      const mse = xent ? 0 : 1;
      for (let r = start; r < end; r += BLOCK) {
        const n = Math.min(BLOCK, end - r);
        copyRows(rows, r, n);
        wasm.stage(XF, XI, IP, n);
        wasm.forward(XI, WP, Z, IP, HP);
        wasm.output(Z, D, HP, O, n, B1W, W2W, B2W, LAB, OB, ERR, GB1, GW2, GB2, mse);
        wasm.backward(XI, D, G, IP, HP);
        let error = 0;
        for (let q = 0; q < n; q++) error += Math.log(err[q]) - err[BLOCK + q];
        acc[0] += error;
        acc[1] += n;
      }
      if (!inSession) store(acc);
    },
  };
}

/** Entry point for a worker thread that imports this module by URL; config is the NetworkShape. */
export function createKernel(config: unknown): OptKernel {
  assertNetworkShape(config);
  return createSimdKernel(config);
}
