import { describe, expect, it } from 'vitest';
import { chunkRowsFor, unitRate } from '../../framework/runtime/calibration.ts';

describe('unitRate', () => {
  it('fits the fastest host in one core and all of them in the cores given, with 20 % headroom', () => {
    // 1:2:4 on 2 cores: the fastest host binds (4R ≤ solo).
    expect(unitRate(1000, [1, 2, 4], 2)).toBeCloseTo((0.8 * 1000) / 4, 9);
    // On one core the sum binds (7R ≤ solo): every host slower, the caps now add up to 0.8 core.
    expect(unitRate(1000, [1, 2, 4], 1)).toBeCloseTo((0.8 * 1000) / 7, 9);
    expect(unitRate(1000, [1, 1, 1, 8], 1) * 11).toBeCloseTo(800, 9);
  });
});

describe('chunkRowsFor', () => {
  it('gives about a quarter of a millisecond of rows, in multiples of 16, from 16 to 1024', () => {
    expect(chunkRowsFor(200_000)).toBe(48);
    expect(chunkRowsFor(100_000, 0.5)).toBe(48);
    expect(chunkRowsFor(1000)).toBe(16);
    expect(chunkRowsFor(1e9)).toBe(1024);
  });
});
