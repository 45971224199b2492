/**
 * A plain reference for Opt's kernel: the same network, loss and accumulator, written the
 * straightforward way — one row at a time, no blocking, no register tiles. The micro
 * benchmark runs it beside the real kernel, so the kernel's speed-up is measured, not claimed.
 */

import { type NetworkShape, weightLayout } from '../../apps/opt/model/index.ts';
import type { ExemplarColumns } from '../../framework/index.ts';

export function referenceAccumulate(
  shape: NetworkShape,
  rows: ExemplarColumns,
  start: number,
  end: number,
  w: Float64Array,
  acc: Float64Array,
): void {
  const { inputs: I, hidden: H, outputs: O } = shape;
  const L = weightLayout(shape);
  const h = new Float64Array(H);
  const d = new Float64Array(H);
  const o = new Float64Array(O);
  for (let r = start; r < end; r++) {
    const x = rows.features.subarray(r * I, r * I + I);
    const label = rows.labels[r];
    for (let j = 0; j < H; j++) {
      let s = w[L.b1 + j];
      for (let i = 0; i < I; i++) s += w[L.w1 + j * I + i] * x[i];
      h[j] = 1 / (1 + Math.exp(-s));
    }
    let max = -Infinity;
    for (let k = 0; k < O; k++) {
      let s = w[L.b2 + k];
      for (let j = 0; j < H; j++) s += w[L.w2 + k * H + j] * h[j];
      o[k] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let k = 0; k < O; k++) sum += Math.exp(o[k] - max);
    acc[0] += Math.log(sum) - (o[label] - max);
    acc[1] += 1;
    for (let k = 0; k < O; k++) o[k] = Math.exp(o[k] - max) / sum - (k === label ? 1 : 0);
    for (let j = 0; j < H; j++) {
      let s = 0;
      for (let k = 0; k < O; k++) s += w[L.w2 + k * H + j] * o[k];
      d[j] = s * h[j] * (1 - h[j]);
    }
    for (let k = 0; k < O; k++) {
      acc[2 + L.b2 + k] += o[k];
      for (let j = 0; j < H; j++) acc[2 + L.w2 + k * H + j] += o[k] * h[j];
    }
    for (let j = 0; j < H; j++) {
      acc[2 + L.b1 + j] += d[j];
      for (let i = 0; i < I; i++) acc[2 + L.w1 + j * I + i] += d[j] * x[i];
    }
  }
}

/** Floating-point operations per exemplar (multiply-adds count 2): W1 forward and ∂W1, then the output layer. */
export function flopsPerExemplar(shape: NetworkShape): number {
  const { inputs: I, hidden: H, outputs: O } = shape;
  return 4 * I * H + 6 * H * O;
}
