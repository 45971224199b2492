/**
 * Micro-benchmarks with the `benchmark` package (ops/s with error margins): the partitioner
 * and transfer plan, the event queue, the migration check in the inner loop, and Opt's
 * kernels (exemplars/s, GFLOP/s): the WebAssembly SIMD one (the default), the JS one and a
 * plain row-at-a-time reference loop; then the SIMD kernel against numpy + BLAS on one
 * thread, the same pass over the same rows, single passes alternating (lib/numpy-anchor.ts).
 */
import Benchmark from 'benchmark';
import { createOptKernel, initWeights, type NetworkShape } from '../apps/opt/model/index.ts';
import { createSimdKernel } from '../apps/opt/model/simd-kernel.ts';
import { barChart } from '../apps/plot/chart/index.ts';
import { syntheticDataset } from '../framework/datasets/index.ts';
import { EventQueue } from '../framework/events/event-queue.ts';
import {
  columnsFromTable,
  partitionBySpeed,
  planTransfers,
  SeededRandom,
  type WorkerCapacity,
} from '../framework/index.ts';
import { WorkerControl } from '../framework/runtime/control.ts';
import { conditionCheck } from './lib/checks.ts';
import type { Benchmark as BenchDef } from './lib/context.ts';
import { loadSnapshot } from './lib/machine.ts';
import { num, table } from './lib/markdown.ts';
import { NumpyAnchor, type NumpyInfo, type NumpyResult, numpyMissing } from './lib/numpy-anchor.ts';
import { flopsPerExemplar, referenceAccumulate } from './lib/reference-kernel.ts';
import { median, sig } from './lib/stats.ts';

interface MicroResult {
  readonly name: string;
  /** Short name for the chart. */
  readonly label: string;
  readonly group: string;
  readonly hz: number;
  /** Relative margin of error, %. */
  readonly rme: number;
  readonly samples: number;
  /** What one operation is, to turn ops/s into a rate. */
  readonly unitsPerOp: number;
  readonly unit: string;
}

const CHECKS = 1000;
const KERNEL_ROWS = 256;
/** Rows of the numpy comparison: Opt's default MNIST training set is 8,000. */
const ANCHOR_ROWS = 8000;

/** max |a − b| / max |b| over two gradients. */
function gradientDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let p = 0; p < b.length; p++) {
    diff = Math.max(diff, Math.abs(a[p] - b[p]));
    scale = Math.max(scale, Math.abs(b[p]));
  }
  return diff / scale;
}

export const micro: BenchDef = {
  name: 'micro',
  title: 'Micro-benchmarks: partitioner, event queue, inner-loop check, Opt kernel',
  estimatedSeconds: 90,
  async run(ctx) {
    const q = ctx.quick;
    const options = q ? { maxTime: 0.05, minSamples: 2, initCount: 1 } : { maxTime: 3, minSamples: 20 };
    const suite = new Benchmark.Suite('admove');
    const meta = new Map<string, Omit<MicroResult, 'hz' | 'rme' | 'samples'>>();
    const add = (
      name: string,
      label: string,
      group: string,
      unitsPerOp: number,
      unit: string,
      fn: () => void,
    ) => {
      meta.set(name, { name, label, group, unitsPerOp, unit });
      suite.add(name, fn, options);
    };

    // Partitioner + plan: an evacuation of h0 over n workers.
    for (const n of [4, 32]) {
      const total = 100_000;
      const held = Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
      const caps: WorkerCapacity[] = held.map((_, i) => ({
        speed: 1 + (i % 3),
        load: 1,
        available: i !== 0,
      }));
      add(`partition + plan, ${n} workers`, `plan, ${n} workers`, 'partitioner', 1, 'plans', () => {
        planTransfers(held, partitionBySpeed(total, caps, held));
      });
    }

    // Event queue: four events (two coalesce) and a drain.
    const hosts = ['h0', 'h1', 'h2', 'h3'];
    let t = 0;
    const queue = new EventQueue(hosts, { recordLimit: 0 });
    add('event queue: 4 events + drain', 'event queue', 'event queue', 4, 'events', () => {
      queue.receive({ type: 'load', host: 'h1', fraction: 0.5 }, t++);
      queue.receive({ type: 'vacate', host: 'h2' }, t++);
      queue.receive({ type: 'load', host: 'h1', fraction: 1 }, t++);
      queue.receive({ type: 'available', host: 'h2' }, t++);
      queue.drain(t++);
    });

    // The check before every chunk: Atomics.load of the shared flag, vs a plain array read.
    const control = new WorkerControl();
    const plain = new Int32Array(1);
    let sink = 0;
    add(
      `${CHECKS} migration checks (Atomics.load)`,
      'flag check',
      'inner-loop check',
      CHECKS,
      'checks',
      () => {
        for (let i = 0; i < CHECKS; i++) if (control.stopRequested()) sink++;
      },
    );
    add(`${CHECKS} plain reads (no atomics)`, 'plain read', 'inner-loop check', CHECKS, 'checks', () => {
      for (let i = 0; i < CHECKS; i++) if (plain[0] !== 0) sink++;
    });

    // Opt's kernel vs the reference loop on MNIST-shaped rows.
    const shape: NetworkShape = { inputs: 784, hidden: 32, outputs: 10, loss: 'xent' };
    const data = syntheticDataset({
      count: KERNEL_ROWS,
      dim: shape.inputs,
      classes: 10,
      seed: 17,
      testFraction: 0,
    });
    const rows = columnsFromTable(data.train.features, data.train.labels, shape.inputs);
    const w = initWeights(shape, new SeededRandom(3));
    const kernel = createOptKernel(shape);
    const simd = createSimdKernel(shape);
    const acc = new Float64Array(kernel.accumulatorLength(w, shape.inputs));
    const ref = new Float64Array(acc.length);
    const simdAcc = new Float64Array(acc.length);
    kernel.accumulate(rows, 0, KERNEL_ROWS, w, acc);
    simd.accumulate(rows, 0, KERNEL_ROWS, w, simdAcc);
    referenceAccumulate(shape, rows, 0, KERNEL_ROWS, w, ref);
    const maxRelDiff = acc.reduce(
      (m, v, i) => Math.max(m, Math.abs(v - ref[i]) / Math.max(1, Math.abs(ref[i]))),
      0,
    );
    const simdDiff = gradientDifference(simdAcc.subarray(2), acc.subarray(2));
    add(
      `Opt SIMD kernel, ${KERNEL_ROWS} rows 784-32-10`,
      'Opt SIMD kernel',
      'kernel',
      KERNEL_ROWS,
      'exemplars',
      () => {
        simd.accumulate(rows, 0, KERNEL_ROWS, w, simdAcc);
      },
    );
    add(
      `Opt JS kernel, ${KERNEL_ROWS} rows 784-32-10`,
      'Opt JS kernel',
      'kernel',
      KERNEL_ROWS,
      'exemplars',
      () => {
        kernel.accumulate(rows, 0, KERNEL_ROWS, w, acc);
      },
    );
    add(
      `reference loop, ${KERNEL_ROWS} rows 784-32-10`,
      'reference loop',
      'kernel',
      KERNEL_ROWS,
      'exemplars',
      () => {
        referenceAccumulate(shape, rows, 0, KERNEL_ROWS, w, ref);
      },
    );

    const results: MicroResult[] = [];
    suite.on('cycle', (e: Benchmark.Event) => {
      const b = e.target as unknown as Benchmark;
      const m = meta.get(b.name!)!;
      results.push({ ...m, hz: b.hz!, rme: b.stats!.rme, samples: b.stats!.sample.length });
      ctx.log(`micro: ${String(e.target)}`);
    });
    suite.run({ async: false });
    if (sink < 0) throw new Error('unreachable');
    const anchor = await measureAnchor(shape, w, q, ctx.log);

    const by = (name: string) => results.find((r) => r.name.startsWith(name))!;
    const flops = flopsPerExemplar(shape);
    const simdRate = by('Opt SIMD kernel').hz * KERNEL_ROWS;
    const optRate = by('Opt JS kernel').hz * KERNEL_ROWS;
    const refRate = by('reference loop').hz * KERNEL_ROWS;
    const checkNs = 1e9 / (by(`${CHECKS} migration checks`).hz * CHECKS);
    const readNs = 1e9 / (by(`${CHECKS} plain reads`).hz * CHECKS);
    const summary = {
      // Opt's default kernel (SIMD), then the JS kernel and the plain reference loop.
      kernelExemplarsPerSecond: sig(simdRate),
      kernelGflops: sig((simdRate * flops) / 1e9),
      jsKernelExemplarsPerSecond: sig(optRate),
      jsKernelGflops: sig((optRate * flops) / 1e9),
      referenceExemplarsPerSecond: sig(refRate),
      referenceGflops: sig((refRate * flops) / 1e9),
      kernelSpeedup: sig(simdRate / refRate),
      simdVsJs: sig(simdRate / optRate),
      kernelMatchesReference: maxRelDiff < 1e-6,
      simdGradientVsJs: sig(simdDiff, 2),
      simdMatchesJs: simdDiff < 1e-5,
      ...anchor.summary,
      checkNanoseconds: sig(checkNs),
      plainReadNanoseconds: sig(readNs),
      planMicros4: sig(1e6 / by('partition + plan, 4').hz),
      planMicros32: sig(1e6 / by('partition + plan, 32').hz),
      eventMicros: sig(1e6 / (by('event queue').hz * 4)),
    };
    const md = [
      `[benchmark.js](https://benchmarkjs.com) ${Benchmark.version}, ${q ? 'quick (0.05 s per test)' : 'up to 3 s per test, at least 20 samples'}, one thread. GFLOP/s counts ${flops.toLocaleString('en-US')} floating-point operations per exemplar (4·I·H + 6·H·O for I-H-O = 784-32-10, multiply-adds as two). The reference loop computes the same error and gradient as the JS kernel (largest relative difference ${maxRelDiff.toExponential(1)}); the SIMD kernel's gradient equals the JS kernel's to ${simdDiff.toExponential(1)} (max |a−b| / max |b|).`,
      '',
      anchor.text,
      '',
      table(
        ['test', 'ops/s', '± %', 'samples', 'per unit'],
        results.map((r) => [
          r.name,
          r.hz,
          r.rme,
          r.samples,
          `${num(1e9 / (r.hz * r.unitsPerOp))} ns per ${r.unit.replace(/s$/, '')}`,
        ]),
      ),
      '',
      table(
        ['figure', 'value'],
        [
          ['Opt SIMD kernel', `${num(simdRate)} exemplars/s, ${num(summary.kernelGflops ?? 0)} GFLOP/s`],
          ['Opt JS kernel', `${num(optRate)} exemplars/s, ${num(summary.jsKernelGflops ?? 0)} GFLOP/s`],
          ['reference loop', `${num(refRate)} exemplars/s, ${num(summary.referenceGflops ?? 0)} GFLOP/s`],
          ['SIMD kernel ÷ reference loop', `${num(summary.kernelSpeedup ?? 0)} ×`],
          [
            'SIMD kernel ÷ JS kernel',
            `${num(summary.simdVsJs ?? 0)} × (gradients agree to ${simdDiff.toExponential(1)})`,
          ],
          ...anchor.rows,
          ['migration check', `${num(checkNs)} ns (plain read ${num(readNs)} ns)`],
          [
            'partition + plan',
            `${num(summary.planMicros4 ?? 0)} µs at 4 workers, ${num(summary.planMicros32 ?? 0)} µs at 32`,
          ],
          ['event queue', `${num(summary.eventMicros ?? 0)} µs per event (receive, coalesce, drain)`],
        ],
      ),
    ].join('\n');
    const chart = barChart({
      title: 'Micro-benchmarks: time per unit of work (log scale)',
      subtitle: `benchmark.js · Opt SIMD kernel ${num(summary.kernelGflops ?? 0)} GFLOP/s, JS kernel ${num(summary.jsKernelGflops ?? 0)}, reference ${num(summary.referenceGflops ?? 0)}`,
      categories: results.map((r) => r.label),
      x: { label: 'test (unit: plan, event, check, exemplar)' },
      y: { label: 'time per unit', unit: 'ns', log: true },
      series: [
        { name: 'ns per unit', values: results.map((r) => 1e9 / (r.hz * r.unitsPerOp)), colour: '#0072B2' },
      ],
    });
    return {
      settings: {
        benchmarkOptions: options,
        kernelRows: KERNEL_ROWS,
        shape,
        checks: CHECKS,
        anchor: anchor.settings,
      },
      samples: results,
      summary,
      // A fast kernel that computes something else is no result: both are conditions.
      checks: [
        conditionCheck(
          'the kernel matches the reference loop',
          summary.kernelMatchesReference,
          `the SIMD kernel's accumulator differs from the reference loop's by ${maxRelDiff} (relative; 1e-6 allowed)`,
        ),
        conditionCheck(
          'the SIMD kernel matches the JS kernel',
          summary.simdMatchesJs,
          `the SIMD kernel's gradient differs from the JS kernel's by ${simdDiff} (relative; 1e-5 allowed)`,
        ),
      ],
      markdown: md,
      chart,
    };
  },
};

/**
 * Opt's SIMD kernel against numpy + BLAS on one thread: the same 784-32-10 pass over the
 * same rows and weights. One python process holds the rows; single passes alternate (admove,
 * numpy, admove, …), so both see the same machine state, and each round's ratio is the median
 * admove rate over the median numpy rate of its passes; the figure is the median of the
 * rounds. admove takes the rows in chunks of KERNEL_ROWS, as a worker does; numpy takes them
 * all at once.
 */
async function measureAnchor(shape: NetworkShape, w: Float64Array, quick: boolean, log: (m: string) => void) {
  const n = quick ? 512 : ANCHOR_ROWS;
  const rounds = quick ? 1 : 9;
  const pairs = quick ? 2 : 9;
  const settings = { rows: n, rounds, passPairsPerRound: pairs, chunkRows: KERNEL_ROWS, dtype: 'float32' };
  const missing = numpyMissing();
  if (missing) {
    log(`micro: numpy anchor skipped: ${missing}`);
    return {
      settings,
      summary: { kernelVsNumpy: null, numpyExemplarsPerSecond: null, numpySkipped: missing },
      rows: [['numpy anchor', `skipped: ${missing}`]],
      text: `numpy anchor skipped: ${missing}.`,
    };
  }
  const data = syntheticDataset({
    count: n,
    dim: shape.inputs,
    classes: shape.outputs,
    seed: 23,
    testFraction: 0,
  });
  const rows = columnsFromTable(data.train.features, data.train.labels, shape.inputs);
  const kernel = createSimdKernel(shape);
  const acc = new Float64Array(kernel.accumulatorLength(w, shape.inputs));
  // A pass as a worker runs it: one kernel session, the rows in chunks.
  const admovePass = () => {
    acc.fill(0);
    kernel.beginPass?.(w, acc);
    for (let s = 0; s < n; s += KERNEL_ROWS) kernel.accumulate(rows, s, Math.min(n, s + KERNEL_ROWS), w, acc);
    kernel.endPass?.(acc);
  };
  const anchor = new NumpyAnchor(shape, rows, w);
  const admoveRates: number[] = [];
  const numpyRates: number[] = [];
  const ratios: number[] = [];
  const loadStart = loadSnapshot();
  let info: NumpyInfo;
  let np: NumpyResult;
  try {
    info = await anchor.ready(); // python has run its warm-up pass
    admovePass(); // and admove its own
    for (let round = 0; round < rounds; round++) {
      const a: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < pairs; r++) {
        const t = performance.now();
        admovePass();
        a.push(n / ((performance.now() - t) / 1000));
        b.push(n / ((await anchor.pass()) / 1000));
      }
      admoveRates.push(median(a));
      numpyRates.push(median(b));
      ratios.push(median(a) / median(b));
      log(`micro: anchor round ${round + 1}: admove ${num(median(a))}/s, numpy ${num(median(b))}/s`);
    }
    np = await anchor.finish();
  } finally {
    anchor.close();
  }
  const loadEnd = loadSnapshot();
  const gradientDiff = gradientDifference(acc.subarray(2), np.gradient);
  const errorDiff = Math.abs(acc[0] - np.error) / Math.abs(np.error);
  if (!(gradientDiff < 1e-4 && errorDiff < 1e-4)) {
    throw new Error(
      `numpy and admove computed different passes: gradient ${gradientDiff.toExponential(2)}, error ${errorDiff.toExponential(2)} (want < 1e-4)`,
    );
  }
  const blas = info.blas;
  const blasName = `${String(blas.name ?? 'unknown BLAS')} ${String(blas.version ?? '')}`.trim();
  const blasRuntime = blas.coretype
    ? ` (kernel ${String(blas.coretype)}, ${String(blas.threads)} thread)`
    : '';
  const ratio = median(ratios);
  const load = `load average ${loadStart.loadAverage[0]} → ${loadEnd.loadAverage[0]}`;
  return {
    settings: {
      ...settings,
      numpy: info.numpy,
      python: info.python,
      blas,
      load: { start: loadStart, end: loadEnd },
      roundRatios: ratios.map((r) => sig(r)),
    },
    summary: {
      kernelVsNumpy: sig(ratio),
      kernelVsNumpyMin: sig(Math.min(...ratios)),
      kernelVsNumpyMax: sig(Math.max(...ratios)),
      anchorExemplarsPerSecond: sig(median(admoveRates)),
      numpyExemplarsPerSecond: sig(median(numpyRates)),
      numpyGflops: sig((median(numpyRates) * flopsPerExemplar(shape)) / 1e9),
      numpyGradientVsAdmove: sig(gradientDiff, 2),
      numpyBlas: `${blasName}${blasRuntime}`,
    },
    rows: [
      [
        'SIMD kernel ÷ numpy (one thread)',
        `${num(ratio)} × (rounds ${num(Math.min(...ratios))}–${num(Math.max(...ratios))}): ${num(median(admoveRates))} vs ${num(median(numpyRates))} exemplars/s`,
      ],
    ],
    text: `The anchor: numpy ${info.numpy} with ${blasName}${blasRuntime}, float32, the same pass over the same ${n.toLocaleString('en-US')} rows (bench/numpy-anchor.py, one process throughout), ${rounds} round${rounds === 1 ? '' : 's'} of ${pairs} single passes each alternating with admove's SIMD kernel (one kernel session, chunks of ${KERNEL_ROWS} rows, as a worker); ${load} during the comparison. numpy's gradient equals admove's to ${gradientDiff.toExponential(1)} (max |a−b| / max |b|), its error to ${errorDiff.toExponential(1)}.`,
  };
}
