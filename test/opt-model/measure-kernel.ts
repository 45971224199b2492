/**
 * Throughput of the Opt kernel on a 784-32-10 network over 8,000 random 784-dim rows,
 * fed in ranges of 32 rows as a worker would. Not a test: run it and read the figures.
 *   npx tsx test/opt-model/measure-kernel.ts [loss] [repeats]
 * FLOPs are counted as 6·P per exemplar (forward + backward), P = parameter count.
 * A straightforward row-at-a-time loop is timed alongside for comparison.
 */

import { createOptKernel } from '../../apps/opt/model/kernel.ts';
import { initWeights, type NetworkShape, parameterCount } from '../../apps/opt/model/network.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { randomColumns } from './helpers.ts';

const loss = process.argv[2] === 'mse' ? 'mse' : 'xent';
const repeats = Number(process.argv[3] ?? 5);
const shape: NetworkShape = { inputs: 784, hidden: 32, outputs: 10, loss };
const ROWS = 8000;
const RANGE = 32;
const P = parameterCount(shape);
const rows = randomColumns(1, ROWS, 784, 10);
const weights = initWeights(shape, new SeededRandom(2));

/** The straightforward loop: one row at a time, forward then backward, mse or xent. */
function naivePass(cols: ExemplarColumns, w: Float64Array, acc: Float64Array): void {
  const { inputs: I, hidden: H, outputs: O } = shape;
  const b1 = H * I;
  const w2 = b1 + H;
  const b2 = w2 + O * H;
  const h = new Float64Array(H);
  const dh = new Float64Array(H);
  const d = new Float64Array(O);
  for (let n = 0; n < cols.count; n++) {
    const base = n * I;
    for (let j = 0; j < H; j++) {
      let s = w[b1 + j];
      for (let i = 0; i < I; i++) s += w[j * I + i] * cols.features[base + i];
      h[j] = 1 / (1 + Math.exp(-s));
    }
    let sum = 0;
    for (let k = 0; k < O; k++) {
      let s = w[b2 + k];
      for (let j = 0; j < H; j++) s += w[w2 + k * H + j] * h[j];
      d[k] = Math.exp(s);
      sum += d[k];
    }
    const label = cols.labels[n];
    acc[0] -= Math.log(d[label] / sum);
    acc[1] += 1;
    for (let k = 0; k < O; k++) d[k] = d[k] / sum - (k === label ? 1 : 0);
    for (let j = 0; j < H; j++) {
      let s = 0;
      for (let k = 0; k < O; k++) s += w[w2 + k * H + j] * d[k];
      dh[j] = s * h[j] * (1 - h[j]);
    }
    for (let k = 0; k < O; k++) {
      acc[2 + b2 + k] += d[k];
      for (let j = 0; j < H; j++) acc[2 + w2 + k * H + j] += d[k] * h[j];
    }
    for (let j = 0; j < H; j++) {
      acc[2 + b1 + j] += dh[j];
      for (let i = 0; i < I; i++) acc[2 + j * I + i] += dh[j] * cols.features[base + i];
    }
  }
}

function time(label: string, pass: (acc: Float64Array) => void): void {
  const acc = new Float64Array(2 + P);
  pass(acc); // warm-up: let the JIT optimise before timing
  const seconds: number[] = [];
  for (let t = 0; t < repeats; t++) {
    acc.fill(0);
    const t0 = process.hrtime.bigint();
    pass(acc);
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  seconds.sort((a, b) => a - b);
  const best = seconds[0];
  const median = seconds[Math.floor(seconds.length / 2)];
  const rate = ROWS / median;
  console.log(
    `${label}: median ${median.toFixed(3)} s (best ${best.toFixed(3)} s) per pass of ${ROWS}; ` +
      `${Math.round(rate)} exemplars/s; ${((6 * P * rate) / 1e9).toFixed(2)} GFLOP/s (6·P per exemplar)`,
  );
}

console.log(`784-32-10 ${loss}, P = ${P}, ${ROWS} rows, ranges of ${RANGE}, ${repeats} timed passes`);
const kernel = createOptKernel(shape);
time('kernel', (acc) => {
  for (let s = 0; s < ROWS; s += RANGE) kernel.accumulate(rows, s, Math.min(ROWS, s + RANGE), weights, acc);
});
if (loss === 'xent') time('straightforward loop', (acc) => naivePass(rows, weights, acc));
