import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultTrace, fastestHost, parseTrace, serializeTrace } from '../../scheduler-stub/index.ts';

const names = (n: number) => Array.from({ length: n }, (_, i) => `h${i}`);

describe('fastestHost', () => {
  it('is the highest speed, ties going to the lowest index', () => {
    expect(fastestHost([1, 1, 2, 4])).toBe(3);
    expect(fastestHost([4, 1, 2, 1])).toBe(0);
    expect(fastestHost([1, 3, 3])).toBe(1);
    expect(fastestHost([2, 2, 2])).toBe(0);
    expect(fastestHost([0.5])).toBe(0);
  });
});

describe('defaultTrace', () => {
  it('speeds 1,1,2,4: vacates h3 a third of the way through, back at two thirds', () => {
    const trace = defaultTrace({ hosts: names(4), speeds: [1, 1, 2, 4], iterations: 30 });
    expect(trace.events.map((e) => [e.at, e.event])).toEqual([
      [{ iteration: 10 }, { type: 'vacate', host: 'h3' }],
      [{ iteration: 20 }, { type: 'available', host: 'h3' }],
    ]);
    expect(trace.description).toContain('h3');
  });

  it('picks the fastest of whatever hosts the job has', () => {
    const a = defaultTrace({ hosts: ['cpu0', 'cpu1', 'gpu'], speeds: [2, 1, 8], iterations: 9 });
    expect(a.events.map((e) => e.event)).toEqual([
      { type: 'vacate', host: 'gpu' },
      { type: 'available', host: 'gpu' },
    ]);
    expect(a.events.map((e) => e.at)).toEqual([{ iteration: 3 }, { iteration: 6 }]);
    const b = defaultTrace({ hosts: names(8), speeds: [1, 1, 5, 1, 1, 1, 1, 1], iterations: 100 });
    expect(b.events.map((e) => e.event.host)).toEqual(['h2', 'h2']);
    expect(b.events.map((e) => e.at)).toEqual([{ iteration: 33 }, { iteration: 67 }]);
    const tie = defaultTrace({ hosts: names(4), speeds: [1, 1, 1, 1], iterations: 30 });
    expect(tie.events.map((e) => e.event.host)).toEqual(['h0', 'h0']);
  });

  it('for any hosts and iterations: fastest host, about 1/3 and 2/3, inside the run, valid trace', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 2, maxLength: 12 }),
        fc.integer({ min: 2, max: 10_000 }),
        (speeds, iterations) => {
          const hosts = names(speeds.length);
          const trace = defaultTrace({ hosts, speeds, iterations });
          expect(trace.events).toHaveLength(2);
          const [vacate, available] = trace.events;
          const best = Math.max(...speeds);
          expect(speeds[hosts.indexOf(vacate.event.host)]).toBe(best);
          expect(vacate.event).toEqual({ type: 'vacate', host: hosts[speeds.indexOf(best)] });
          expect(available.event).toEqual({ type: 'available', host: vacate.event.host });
          const v = (vacate.at as { iteration: number }).iteration;
          const a = (available.at as { iteration: number }).iteration;
          expect(v).toBeGreaterThanOrEqual(1);
          expect(v).toBeLessThan(a);
          expect(a).toBeLessThanOrEqual(iterations);
          if (iterations >= 6) {
            expect(Math.abs(v - iterations / 3)).toBeLessThanOrEqual(0.5);
            expect(Math.abs(a - (2 * iterations) / 3)).toBeLessThanOrEqual(0.5);
          }
          // It is a trace the parser accepts for these hosts.
          expect(parseTrace(serializeTrace(trace), 'default', hosts)).toEqual(trace);
        },
      ),
    );
  });

  it('small runs: 2 iterations go at 1 and come back at 2; 3 at 1 and 2', () => {
    const at = (iterations: number) =>
      defaultTrace({ hosts: names(2), speeds: [1, 2], iterations }).events.map((e) => e.at);
    expect(at(2)).toEqual([{ iteration: 1 }, { iteration: 2 }]);
    expect(at(3)).toEqual([{ iteration: 1 }, { iteration: 2 }]);
    expect(at(4)).toEqual([{ iteration: 1 }, { iteration: 3 }]);
  });

  it('is empty for a single host or fewer than 2 iterations', () => {
    expect(defaultTrace({ hosts: ['h0'], speeds: [1], iterations: 30 }).events).toEqual([]);
    expect(defaultTrace({ hosts: names(4), speeds: [1, 1, 2, 4], iterations: 1 }).events).toEqual([]);
    expect(defaultTrace({ hosts: names(4), speeds: [1, 1, 2, 4], iterations: 0 }).events).toEqual([]);
  });

  it('refuses mismatched or bad speeds and bad iteration counts (programming errors)', () => {
    expect(() => defaultTrace({ hosts: names(3), speeds: [1, 2], iterations: 9 })).toThrow(RangeError);
    expect(() => defaultTrace({ hosts: names(2), speeds: [1, 0], iterations: 9 })).toThrow(RangeError);
    expect(() => defaultTrace({ hosts: names(2), speeds: [1, Number.NaN], iterations: 9 })).toThrow(
      RangeError,
    );
    expect(() => defaultTrace({ hosts: names(2), speeds: [1, 2], iterations: 2.5 })).toThrow(RangeError);
    expect(() => defaultTrace({ hosts: names(2), speeds: [1, 2], iterations: -1 })).toThrow(RangeError);
  });
});
