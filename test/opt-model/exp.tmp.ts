// Temporary experiment (not committed): SCG, 50 iterations, in one thread, on MNIST.

import {
  accuracy,
  createOptimiser,
  initWeights,
  type NetworkShape,
  predictClasses,
  weightLayout,
} from '../../apps/opt/model/index.ts';
import { createSimdKernel } from '../../apps/opt/model/simd-kernel.ts';
import { applyStandardisation, fitStandardisation, loadMnist } from '../../framework/datasets/index.ts';
import { columnsFromTable, SeededRandom } from '../../framework/index.ts';

const [std, wd, seed, hidden, iters] = [
  process.argv[2] === '1',
  Number(process.argv[3]),
  Number(process.argv[4]),
  Number(process.argv[5] ?? 32),
  Number(process.argv[6] ?? 50),
];
const data = await loadMnist();
const s = std ? fitStandardisation(data.train) : null;
const train = s ? applyStandardisation(data.train, s) : data.train;
const test = s ? applyStandardisation(data.test, s) : data.test;
const shape: NetworkShape = { inputs: data.dim, hidden, outputs: 10, loss: 'xent' };
const L = weightLayout(shape);
const kernel = createSimdKernel(shape);
const cols = columnsFromTable(train.features, train.labels, train.dim);
const opt = createOptimiser('scg', initWeights(shape, new SeededRandom(seed)));
const acc = new Float64Array(2 + L.count);
const evaluate = async (w: Float64Array) => {
  acc.fill(0);
  for (let r = 0; r < cols.count; r += 256) kernel.accumulate(cols, r, Math.min(cols.count, r + 256), w, acc);
  const g = new Float64Array(L.count);
  for (let p = 0; p < g.length; p++) g[p] = acc[2 + p] / acc[1];
  let e = acc[0] / acc[1];
  for (const [a, b] of [
    [L.w1, L.b1],
    [L.w2, L.b2],
  ])
    for (let p = a; p < b; p++) {
      e += 0.5 * wd * w[p] * w[p];
      g[p] += wd * w[p];
    }
  return { error: e, gradient: g };
};
const curve: string[] = [];
for (let i = 1; i <= iters; i++) {
  await opt.step(evaluate);
  if (i % 10 === 0)
    curve.push(
      (
        100 * accuracy(predictClasses(shape, opt.weights, test.features, test.count, test.dim), test.labels)
      ).toFixed(1),
    );
}
const tr = accuracy(predictClasses(shape, opt.weights, train.features, train.count, train.dim), train.labels);
console.log(
  `std=${std} wd=${wd} seed=${seed} h=${hidden} test@10s ${curve.join(' ')} train ${(100 * tr).toFixed(1)}`,
);
