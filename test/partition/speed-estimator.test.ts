import { describe, expect, it } from 'vitest';
import { SpeedEstimator } from '../../framework/partition/speed-estimator.ts';

const pass = (count: number, ms: number, load?: number) => ({ count, seconds: ms / 1000, load });

describe('SpeedEstimator', () => {
  it('uses declared ratings until a worker is measured, then exemplars/s', () => {
    const e = new SpeedEstimator([1, 3]);
    expect(e.speeds()).toEqual([1, 3]);
    e.record(0, pass(1000, 100)); // 10,000/s
    // Worker 1 is not measured: its rating is scaled by the measured/declared ratio of worker 0.
    expect(e.speeds()).toEqual([10_000, 30_000]);
  });

  it('lets the second sample replace a warm-up first one instead of averaging it', () => {
    const e = new SpeedEstimator([1]);
    e.record(0, pass(640, 100)); // a cold first pass: 6,400/s
    expect(e.speeds()[0]).toBeCloseTo(6400, 6);
    e.record(0, pass(1000, 100)); // warm: 10,000/s
    expect(e.speeds()[0]).toBeCloseTo(10_000, 6);
    e.record(0, pass(900, 100)); // the next ones are averaged (plain mean of the first real ones)
    expect(e.speeds()[0]).toBeCloseTo(9500, 6);
    expect(e.snapshot()[0].samples).toBe(2);
  });

  it('averages every sample when warm-up is off', () => {
    const e = new SpeedEstimator([1], { warmupSamples: 0 });
    e.record(0, pass(640, 100));
    e.record(0, pass(1000, 100));
    expect(e.speeds()[0]).toBeCloseTo(8200, 6);
  });

  it('stores load-free speeds: a measurement under load 0.5 counts double', () => {
    const e = new SpeedEstimator([1], { warmupSamples: 0 });
    e.setLoad(0, 0.5);
    e.record(0, pass(500, 100));
    expect(e.speeds()[0]).toBeCloseTo(10_000, 6);
    expect(e.capacities([true])[0]).toEqual({ speed: e.speeds()[0], load: 0.5, available: true });
  });

  it('accumulates tiny measurements until they make one sample', () => {
    const e = new SpeedEstimator([1], { warmupSamples: 0 });
    expect(e.record(0, pass(4, 1))).toBe(false);
    expect(e.isMeasured(0)).toBe(false);
    expect(e.record(0, pass(6, 4))).toBe(true);
    expect(e.speeds()[0]).toBeCloseTo(2000, 6);
  });

  it('tracks how far one measurement strays: 0 for steady samples, about their scatter otherwise', () => {
    const steady = new SpeedEstimator([1]);
    const noisy = new SpeedEstimator([1]);
    for (let k = 0; k < 20; k++) {
      steady.record(0, pass(1000, 100));
      noisy.record(0, pass(k % 2 === 0 ? 1100 : 900, 100)); // ±10 %
    }
    expect(steady.noise(0)).toBe(0);
    expect(noisy.noise(0)).toBeGreaterThan(0.05);
    expect(noisy.noise(0)).toBeLessThan(0.2);
    expect(new SpeedEstimator([1]).noise(0)).toBe(0);
  });

  it('one slow pass moves nothing; a lasting change is taken from its second pass on', () => {
    const e = new SpeedEstimator([1], { warmupSamples: 0 });
    for (let k = 0; k < 10; k++) e.record(0, pass(1000, 100)); // 10,000/s
    e.record(0, pass(600, 100)); // one pass 40 % slow (a pause)
    expect(e.speeds()[0]).toBeCloseTo(10_000, 6);
    e.record(0, pass(1000, 100));
    e.record(0, pass(1000, 100));
    expect(e.speeds()[0]).toBeCloseTo(10_000, 6);
    // Really slower from now on: the first slow pass is outvoted, the second is not.
    e.record(0, pass(500, 100));
    expect(e.speeds()[0]).toBeCloseTo(10_000, 6);
    e.record(0, pass(500, 100));
    expect(e.speeds()[0]).toBeCloseTo(0.7 * 10_000 + 0.3 * 5000, 6);
    for (let k = 0; k < 30; k++) e.record(0, pass(500, 100));
    expect(e.speeds()[0]).toBeCloseTo(5000, -1);
  });

  it('rejects a bad warm-up count', () => {
    expect(() => new SpeedEstimator([1], { warmupSamples: -1 })).toThrow(/warmupSamples/);
  });
});
