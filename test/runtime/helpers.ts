import type { SchedulerEvent } from '../../framework/events/types.ts';
import { columnsFromTable } from '../../framework/exemplars/batch.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import type { JobOptions } from '../../framework/runtime/adm-job.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { ID_SUM_KERNEL } from '../fixtures/id-sum-kernel.ts';

export function randomColumns(count: number, dim: number, seed = 1): ExemplarColumns {
  const rng = new SeededRandom(seed);
  const features = new Float32Array(count * dim);
  for (let i = 0; i < features.length; i++) features[i] = rng.normal();
  const labels = Int32Array.from({ length: count }, () => rng.int(3));
  return columnsFromTable(features, labels, dim);
}

/** The accumulator the id-sum kernel must give for `cols`, computed directly. */
export function referenceSums(cols: ExemplarColumns): Float64Array {
  const acc = new Float64Array(3 + cols.dim);
  for (let r = 0; r < cols.count; r++) {
    const id = cols.ids[r];
    acc[0] += 1;
    acc[1] += id;
    acc[2] += id * id;
    for (let j = 0; j < cols.dim; j++) acc[3 + j] += cols.features[r * cols.dim + j];
  }
  return acc;
}

export function jobOptions(
  train: ExemplarColumns,
  speeds: number[],
  extra: Partial<JobOptions> = {},
): JobOptions {
  const t0 = performance.now();
  return {
    kernelModule: ID_SUM_KERNEL,
    kernelConfig: { spin: 0 },
    train,
    hosts: speeds.map((speed, i) => ({ name: `h${i}`, speed })),
    emulateSpeeds: true,
    calibrationParams: new Float64Array(1),
    clock: () => performance.now() - t0,
    ...extra,
  };
}

export function expectSameSums(actual: Float64Array, expected: Float64Array): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-9 * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`accumulator[${i}] = ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Every id of 0..n-1 held exactly once across workers. */
export function checkIdsExactlyOnce(held: Int32Array[], n: number): string | null {
  const seen = new Uint8Array(n);
  for (const ids of held) {
    for (const id of ids) {
      if (id < 0 || id >= n) return `unknown id ${id}`;
      if (seen[id]) return `id ${id} held twice`;
      seen[id] = 1;
    }
  }
  const missing = seen.indexOf(0);
  return missing >= 0 ? `id ${missing} lost` : null;
}

/**
 * Resolves when the pass machine next starts computing, so a test can send events that
 * really land in the middle of a pass (not before it, nor during a rebalance at its start).
 */
export function computingWatch() {
  let waiting: (() => void) | null = null;
  return {
    onTransition(t: { actor: string; state: string }) {
      if (t.actor === 'pass' && t.state === '{"computing":"running"}' && waiting) {
        const w = waiting;
        waiting = null;
        setTimeout(w, 2);
      }
    },
    next(): Promise<void> {
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
  };
}

/**
 * The largest |acc − reference| relative to each entry of `reference`, entries smaller than
 * 1e-3 of the first one (the loss) measured against that instead: a gradient equal "to 1e-9".
 */
export function worstRelativeError(acc: Float64Array, reference: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    const scale = Math.max(Math.abs(reference[i]), 1e-3 * Math.abs(reference[0]));
    worst = Math.max(worst, Math.abs(acc[i] - reference[i]) / scale);
  }
  return worst;
}

/**
 * A random sequence's timed events (ms after a pass starts) in the order they are sent: by
 * time, ties in array order, so a model applies them in that order too.
 */
export function inTimeOrder(
  events: readonly (readonly [number, SchedulerEvent])[],
): [number, SchedulerEvent][] {
  return events
    .map((t, i) => [t, i] as const)
    .sort((a, b) => a[0][0] - b[0][0] || a[1] - b[1])
    .map(([t]) => [t[0], t[1]]);
}

/** The model of which hosts may hold data, after `timed` (vacate removes, available adds). */
export function applyAvailability(
  timed: readonly (readonly [number, SchedulerEvent])[],
  available: Set<string>,
): void {
  for (const [, e] of timed) {
    if (e.type === 'vacate') available.delete(e.host);
    if (e.type === 'available') available.add(e.host);
  }
}

export { until } from '../fixtures/until.ts';
