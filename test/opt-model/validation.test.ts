import { describe, expect, it } from 'vitest';
import { BestWeights } from '../../apps/opt/best-weights.ts';
import { earliestEarlyStop, patienceRunsOut } from '../../apps/opt/early-stopping.ts';
import { splitValidation, validationCount } from '../../apps/opt/validation-split.ts';
import type { ExemplarTable } from '../../framework/datasets/types.ts';
import { defaultTrace } from '../../scheduler-stub/index.ts';

/** `count` rows of 2 features; row r holds (r, −r) and label r, so every row is recognisable. */
function table(count: number): ExemplarTable {
  const features = new Float32Array(count * 2);
  for (let r = 0; r < count; r++) {
    features[2 * r] = r;
    features[2 * r + 1] = -r;
  }
  return { count, dim: 2, features, labels: Int32Array.from({ length: count }, (_, r) => r) };
}

describe('splitValidation', () => {
  it('holds out round(F·N) rows, disjoint from the rest, each whole, both in table order', () => {
    const { train, validation } = splitValidation(table(1000), 0.1, 7);
    expect(validation.count).toBe(100);
    expect(train.count).toBe(900);
    const all = [...train.labels, ...validation.labels].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, r) => r));
    for (const part of [train, validation]) {
      expect([...part.labels]).toEqual([...part.labels].sort((a, b) => a - b));
      part.labels.forEach((r, k) => {
        expect([part.features[2 * k], part.features[2 * k + 1]]).toEqual([r, -r]);
      });
    }
  });

  it('is the same rows for the same seed and other rows for another', () => {
    const rows = (seed: number) => [...splitValidation(table(1000), 0.1, seed).validation.labels];
    expect(rows(3)).toEqual(rows(3));
    expect(rows(4)).not.toEqual(rows(3));
  });

  it('with fraction 0 leaves the training table as it was and holds out nothing', () => {
    const t = table(50);
    const { train, validation } = splitValidation(t, 0, 1);
    expect(train).toBe(t);
    expect(validation.count).toBe(0);
    expect(validationCount(50, 0.001)).toBe(0);
    expect(() => splitValidation(t, 1, 1)).toThrow(RangeError);
  });
});

describe('BestWeights', () => {
  const score = (error: number, accuracy = 0.5) => ({ error, accuracy });

  it('keeps the first iteration of strictly lower validation error and counts the iterations since', () => {
    const best = new BestWeights();
    const w = new Float64Array([1, 2]);
    expect(best.observe(1, score(0.9), w)).toBe(true);
    w[0] = 9; // a later step changes the optimiser's weights in place: the kept copy stays
    expect(best.observe(2, score(0.7, 0.6), w)).toBe(true);
    w[0] = 10;
    expect(best.observe(3, score(0.7, 0.9), w)).toBe(false); // a tie keeps the earlier weights
    expect(best.observe(4, score(0.8, 0.95), w)).toBe(false); // the accuracy does not choose
    expect(best.iteration).toBe(2);
    expect(best.score).toEqual(score(0.7, 0.6));
    expect([...(best.weights ?? [])]).toEqual([9, 2]);
    expect(best.sinceBest).toBe(2);
  });

  it('continues exactly from its checkpointed state', () => {
    const a = new BestWeights();
    a.observe(1, score(0.5), new Float64Array([0.1, 1 / 3]));
    a.observe(2, score(0.6), new Float64Array([5, 5]));
    const b = new BestWeights(JSON.parse(JSON.stringify(a.toJSON())));
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(b.weights).toEqual(a.weights);
    for (const x of [a, b]) x.observe(3, score(0.45), new Float64Array([7, 7]));
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(new BestWeights().toJSON()).toBeNull();
  });
});

describe('early stopping', () => {
  it('waits until the iteration after the last iteration-timed event of the trace', () => {
    const trace = defaultTrace({ hosts: ['h0', 'h1'], speeds: [1, 2], iterations: 150 });
    expect(earliestEarlyStop(trace)).toBe(101); // available at 100, applied during 101
    expect(earliestEarlyStop({ events: [] })).toBe(0);
    expect(
      earliestEarlyStop({ events: [{ at: { ms: 99_999 }, event: { type: 'vacate', host: 'h0' } }] }),
    ).toBe(0);
  });

  it('stops once patience iterations passed without improvement, and never with patience 0', () => {
    const rule = { patience: 5, sinceBest: 5, iteration: 120, earliest: 101 };
    expect(patienceRunsOut(rule)).toBe(true);
    expect(patienceRunsOut({ ...rule, sinceBest: 4 })).toBe(false);
    expect(patienceRunsOut({ ...rule, iteration: 100 })).toBe(false);
    expect(patienceRunsOut({ ...rule, patience: 0, sinceBest: 1000 })).toBe(false);
  });
});
