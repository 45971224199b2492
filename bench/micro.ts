/**
 * Micro-benchmarks with the `benchmark` package (ops/s with error margins): the partitioner
 * and transfer plan, the event queue, the migration check in the inner loop, and Opt's
 * kernel (exemplars/s, GFLOP/s) beside a plain row-at-a-time reference loop.
 */
import Benchmark from 'benchmark';
import { createOptKernel, initWeights, type NetworkShape } from '../apps/opt/model/index.ts';
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
import type { Benchmark as BenchDef } from './lib/context.ts';
import { num, table } from './lib/markdown.ts';
import { flopsPerExemplar, referenceAccumulate } from './lib/reference-kernel.ts';
import { sig } from './lib/stats.ts';

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

export const micro: BenchDef = {
  name: 'micro',
  title: 'Micro-benchmarks: partitioner, event queue, inner-loop check, Opt kernel',
  estimatedSeconds: 60,
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
    const acc = new Float64Array(kernel.accumulatorLength(w, shape.inputs));
    const ref = new Float64Array(acc.length);
    kernel.accumulate(rows, 0, KERNEL_ROWS, w, acc);
    referenceAccumulate(shape, rows, 0, KERNEL_ROWS, w, ref);
    const maxRelDiff = acc.reduce(
      (m, v, i) => Math.max(m, Math.abs(v - ref[i]) / Math.max(1, Math.abs(ref[i]))),
      0,
    );
    add(`Opt kernel, ${KERNEL_ROWS} rows 784-32-10`, 'Opt kernel', 'kernel', KERNEL_ROWS, 'exemplars', () => {
      kernel.accumulate(rows, 0, KERNEL_ROWS, w, acc);
    });
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

    const by = (name: string) => results.find((r) => r.name.startsWith(name))!;
    const flops = flopsPerExemplar(shape);
    const optRate = by('Opt kernel').hz * KERNEL_ROWS;
    const refRate = by('reference loop').hz * KERNEL_ROWS;
    const checkNs = 1e9 / (by(`${CHECKS} migration checks`).hz * CHECKS);
    const readNs = 1e9 / (by(`${CHECKS} plain reads`).hz * CHECKS);
    const summary = {
      kernelExemplarsPerSecond: sig(optRate),
      kernelGflops: sig((optRate * flops) / 1e9),
      referenceExemplarsPerSecond: sig(refRate),
      referenceGflops: sig((refRate * flops) / 1e9),
      kernelSpeedup: sig(optRate / refRate),
      kernelMatchesReference: maxRelDiff < 1e-6,
      checkNanoseconds: sig(checkNs),
      plainReadNanoseconds: sig(readNs),
      planMicros4: sig(1e6 / by('partition + plan, 4').hz),
      planMicros32: sig(1e6 / by('partition + plan, 32').hz),
      eventMicros: sig(1e6 / (by('event queue').hz * 4)),
    };
    const md = [
      `[benchmark.js](https://benchmarkjs.com) ${Benchmark.version}, ${q ? 'quick (0.05 s per test)' : 'up to 3 s per test, at least 20 samples'}, one thread. GFLOP/s counts ${flops.toLocaleString('en-US')} floating-point operations per exemplar (4·I·H + 6·H·O for I-H-O = 784-32-10, multiply-adds as two). The reference loop computes the same error and gradient (largest relative difference ${maxRelDiff.toExponential(1)}).`,
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
          ['Opt kernel', `${num(optRate)} exemplars/s, ${num(summary.kernelGflops ?? 0)} GFLOP/s`],
          ['reference loop', `${num(refRate)} exemplars/s, ${num(summary.referenceGflops ?? 0)} GFLOP/s`],
          ['kernel ÷ reference', `${num(summary.kernelSpeedup ?? 0)} ×`],
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
      subtitle: `benchmark.js · Opt kernel ${num(summary.kernelGflops ?? 0)} GFLOP/s vs reference ${num(summary.referenceGflops ?? 0)} GFLOP/s`,
      categories: results.map((r) => r.label),
      x: { label: 'test (unit: plan, event, check, exemplar)' },
      y: { label: 'time per unit', unit: 'ns', log: true },
      series: [
        { name: 'ns per unit', values: results.map((r) => 1e9 / (r.hz * r.unitsPerOp)), colour: '#0072B2' },
      ],
    });
    return {
      settings: { benchmarkOptions: options, kernelRows: KERNEL_ROWS, shape, checks: CHECKS },
      samples: results,
      summary,
      markdown: md,
      chart,
    };
  },
};
