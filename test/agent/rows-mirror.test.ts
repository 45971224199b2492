/**
 * The agent's mirror of a worker thread's rows (framework/agent/rows-mirror.ts): trusted only
 * while every row the thread took sits in shared memory and the thread has not merged its
 * batches; a vacate takes all of them from it, cut as asked, each row exactly once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RowsMirror } from '../../framework/agent/rows-mirror.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { COMPACT_ABOVE_BATCHES } from '../../framework/exemplars/store.ts';

const DIM = 2;

/** `count` rows with ids from `firstId`, in shared memory (as an agent receives them) or not. */
function rows(firstId: number, count: number, shared = true): ExemplarColumns {
  const make = <T extends Int32Array | Float32Array | Uint8Array>(
    Kind: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number },
    length: number,
  ): T => {
    const bytes = length * Kind.BYTES_PER_ELEMENT;
    return new Kind(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  };
  const ids = make(Int32Array, count);
  for (let i = 0; i < count; i++) ids[i] = firstId + i;
  const features = make(Float32Array, count * DIM);
  for (let i = 0; i < count; i++)
    for (let j = 0; j < DIM; j++) features[i * DIM + j] = (firstId + i) * 10 + j;
  return {
    count,
    dim: DIM,
    ids,
    labels: make(Int32Array, count),
    features,
    processed: make(Uint8Array, count),
  };
}

const idsOf = (parts: readonly ExemplarColumns[]) => parts.flatMap((p) => [...p.ids]);

describe('the rows mirror', () => {
  it('gives all the rows the thread took in shared memory, cut as asked, and is empty after', () => {
    const mirror = new RowsMirror();
    mirror.added([rows(0, 5), rows(5, 3)]);
    const parts = mirror.takeAll([6, 2], 8);
    expect(parts?.map((p) => p.reduce((n, f) => n + f.count, 0))).toEqual([6, 2]);
    expect(idsOf(parts?.flat() ?? []).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(mirror.takeAll([0], 0)).toEqual([[]]);
  });

  it('gives nothing for part of the rows, or when its count is not the thread’s', () => {
    const mirror = new RowsMirror();
    mirror.added([rows(0, 4)]);
    expect(mirror.takeAll([3], 4)).toBeNull(); // a rebalance, not a vacate: the thread cuts
    expect(mirror.takeAll([4], 5)).toBeNull(); // the thread says it holds another count
    expect(mirror.takeAll([4], 4)?.flat().length).toBe(1);
  });

  it('is not trusted once the thread holds rows it cannot see, merged them, or cut them itself', () => {
    const privateRows = new RowsMirror();
    privateRows.added([rows(0, 2, false)]); // transferred to the thread: these views are empty now
    expect(privateRows.trusted).toBe(false);
    expect(privateRows.takeAll([2], 2)).toBeNull();

    const merged = new RowsMirror();
    merged.added(Array.from({ length: COMPACT_ABOVE_BATCHES + 1 }, (_, i) => rows(i, 1)));
    expect(merged.trusted).toBe(false); // the thread compacts into copies of its own

    const cut = new RowsMirror();
    cut.added([rows(0, 3)]);
    cut.lost(); // an extract through the thread
    expect(cut.takeAll([3], 3)).toBeNull();
    cut.emptied(); // a drop: both empty, they agree again
    cut.added([rows(10, 2)]);
    expect(idsOf(cut.takeAll([2], 2)?.flat() ?? [])).toEqual([10, 11]);
  });

  it('property: whatever was added, a take of all of it returns each row exactly once, in the counts asked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 4 }),
        (sizes, weights) => {
          const mirror = new RowsMirror();
          let next = 0;
          for (const n of sizes) {
            mirror.added([rows(next, n)]);
            next += n;
          }
          // Split the total into parts proportional to `weights` (the last takes the rest).
          const total = next;
          const sum = weights.reduce((a, w) => a + w, 0) || 1;
          const counts = weights.map((w) => Math.floor((total * w) / sum));
          counts[counts.length - 1] += total - counts.reduce((a, n) => a + n, 0);
          const parts = mirror.takeAll(counts, total);
          expect(parts).not.toBeNull();
          expect(parts?.map((p) => p.reduce((n, f) => n + f.count, 0))).toEqual(counts);
          const ids = idsOf(parts?.flat() ?? []).sort((a, b) => a - b);
          expect(ids).toEqual(Array.from({ length: total }, (_, i) => i));
          // Each row travels with its own features.
          for (const f of parts?.flat() ?? [])
            for (let r = 0; r < f.count; r++)
              for (let j = 0; j < DIM; j++) expect(f.features[r * DIM + j]).toBe(f.ids[r] * 10 + j);
        },
      ),
      { numRuns: 200 },
    );
  });
});
