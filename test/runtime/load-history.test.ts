import { describe, expect, it } from 'vitest';
import { LoadHistory } from '../../framework/runtime/load-history.ts';

describe('LoadHistory: the mean emulated load over a span', () => {
  it('weights each load by the time it held, across several changes', () => {
    const h = new LoadHistory();
    expect(h.mean(0, 100)).toBe(1);
    h.record(100, 0.5);
    h.record(150, 0.25);
    h.record(300, 1);
    // 50 ms at 1, 50 at 0.5, 150 at 0.25, 50 at 1 over [50, 350].
    expect(h.mean(50, 350)).toBeCloseTo((50 * 1 + 50 * 0.5 + 150 * 0.25 + 50 * 1) / 300, 12);
    expect(h.mean(160, 290)).toBe(0.25);
    expect(h.mean(400, 500)).toBe(1);
    expect(h.current).toBe(1);
    // An empty span reads the load now.
    expect(h.mean(120, 120)).toBe(1);
  });

  it('keeps its last changes only; before them, the oldest kept stands for the dropped ones', () => {
    const h = new LoadHistory();
    for (let k = 1; k <= 100; k++) h.record(k, k % 2 === 0 ? 0.5 : 0.25);
    // Changes at 1…36 were dropped: [0, 37] reads the oldest kept change's load (at 37: 0.25).
    expect(h.mean(0, 37)).toBe(0.25);
    expect(h.mean(99, 100)).toBe(0.25);
    expect(h.mean(100, 110)).toBe(0.5);
  });
});
