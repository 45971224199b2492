/**
 * The load watcher's debouncer: a change of the fraction left for the job is told only when
 * it is ≥ threshold and lasts ≥ hold. Properties over arbitrary reading sequences.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LoadChange, LoadDebouncer } from '../../framework/agent/load-debouncer.ts';

const THRESHOLD = 0.15;
const HOLD_MS = 2000;

/** Readings `every` ms apart starting at `from`: their times and what was told at each. */
function play(
  d: LoadDebouncer,
  values: readonly number[],
  every: number,
  from = 0,
): { at: number; change: LoadChange }[] {
  const told: { at: number; change: LoadChange }[] = [];
  values.forEach((v, k) => {
    const at = from + k * every;
    const change = d.observe(at, v);
    if (change) told.push({ at, change });
  });
  return told;
}

const intervalArb = fc.integer({ min: 50, max: 1000 });
const fresh = (initial = 1) => new LoadDebouncer({ threshold: THRESHOLD, holdMs: HOLD_MS, initial });

describe('LoadDebouncer', () => {
  it('never tells noise below the threshold, however long it lasts', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.2, max: 1, noNaN: true }),
        fc.array(fc.double({ min: -THRESHOLD, max: THRESHOLD, noNaN: true }), { maxLength: 400 }),
        intervalArb,
        (initial, noise, every) => {
          const d = fresh(initial);
          const values = noise
            .filter((n) => Math.abs(n) < THRESHOLD)
            .map((n) => Math.min(1, Math.max(0.05, initial + n)))
            .filter((v) => Math.abs(v - initial) < THRESHOLD);
          expect(play(d, values, every)).toEqual([]);
          expect(d.current).toBe(initial);
        },
      ),
    );
  });

  it('tells a step change held ≥ the hold exactly once, no sooner than the hold, near the step', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 1 - THRESHOLD - 0.1, noNaN: true }),
        fc.double({ min: 0, max: THRESHOLD / 2 - 1e-3, noNaN: true }),
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 200 }),
        intervalArb,
        fc.integer({ min: 0, max: 20 }),
        (level, amplitude, jitter, every, quiet) => {
          // A quiet start at full load, then the step (with noise below half the threshold) for
          // at least the hold plus one reading.
          const length = Math.max(jitter.length, Math.ceil(HOLD_MS / every) + 1);
          const step = Array.from({ length }, (_, k) => level + amplitude * jitter[k % jitter.length]);
          const d = fresh(1);
          const told = play(d, [...new Array(quiet).fill(1), ...step], every);
          expect(told).toHaveLength(1);
          const stepAt = quiet * every;
          expect(told[0].at - stepAt).toBeGreaterThanOrEqual(HOLD_MS);
          expect(Math.abs(told[0].change.fraction - level)).toBeLessThanOrEqual(amplitude + 1e-9);
          expect(d.current).toBe(told[0].change.fraction);
        },
      ),
    );
  });

  it('never tells a change shorter than the hold', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 1 - THRESHOLD, noNaN: true }),
        intervalArb,
        fc.integer({ min: 1, max: 50 }),
        (level, every, bursts) => {
          const short = Math.max(1, Math.ceil(HOLD_MS / every) - 1); // readings spanning < hold
          const d = fresh(1);
          const values: number[] = [];
          for (let b = 0; b < bursts; b++) values.push(...new Array(short).fill(level), 1);
          expect(play(d, values, every)).toEqual([]);
        },
      ),
    );
  });

  it('tells only changes ≥ the threshold from what it told before, each a mean of readings it saw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { maxLength: 300 }),
        intervalArb,
        (values, every) => {
          const d = fresh(1);
          let before = 1;
          for (const { change } of play(d, values, every)) {
            expect(Math.abs(change.fraction - before)).toBeGreaterThanOrEqual(THRESHOLD - 1e-9);
            expect(change.fraction).toBeGreaterThanOrEqual(Math.min(...values) - 1e-12);
            expect(change.fraction).toBeLessThanOrEqual(Math.max(...values) + 1e-12);
            expect(change.heldMs).toBeGreaterThanOrEqual(HOLD_MS);
            before = change.fraction;
          }
        },
      ),
    );
  });

  it('restarts the hold when a reading falls back or crosses to the other side', () => {
    const d = fresh(0.5);
    // Down for 1.5 s, one reading back within the band, down again: the hold starts over.
    expect(play(d, [0.3, 0.3, 0.3, 0.3, 0.45, 0.3, 0.3, 0.3, 0.3], 500)).toEqual([]);
    // Up past the band, then down past it: a change of side is not a lasting change.
    expect(play(fresh(0.5), [0.8, 0.8, 0.8, 0.2, 0.2, 0.2, 0.8], 500)).toEqual([]);
    // Held 2 s: told once, the mean of the five readings.
    const told = play(fresh(0.5), [0.3, 0.2, 0.3, 0.2, 0.3, 0.3], 500);
    expect(told.map((t) => t.at)).toEqual([2000]);
    expect(told[0].change.fraction).toBeCloseTo(0.26, 12);
    expect(told[0].change.samples).toBe(5);
  });

  it('refuses a threshold outside (0, 1] and a negative hold', () => {
    expect(() => new LoadDebouncer({ threshold: 0, holdMs: 1 })).toThrow(/threshold/);
    expect(() => new LoadDebouncer({ threshold: 1.5, holdMs: 1 })).toThrow(/threshold/);
    expect(() => new LoadDebouncer({ threshold: 0.1, holdMs: -1 })).toThrow(/holdMs/);
  });
});
