/**
 * Rows in shared memory (an agent's exemplar bodies: framework/agent/shared-bodies.ts) going
 * into a real worker thread and out again: shared, not transferred, and intact.
 */
import { describe, expect, it } from 'vitest';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { transferListOf } from '../../framework/exemplars/rows.ts';
import { threadTransport } from '../../framework/runtime/thread-worker.ts';
import { ID_SUM_KERNEL } from '../fixtures/id-sum-kernel.ts';
import { randomColumns } from './helpers.ts';

/** `cols` copied into one SharedArrayBuffer, as a frame's rows decoded in place are. */
function inSharedMemory(cols: ExemplarColumns): ExemplarColumns {
  const n = cols.count;
  const bytes = 4 * n + 4 * n + 4 * n * cols.dim + n;
  const sab = new SharedArrayBuffer(bytes + 16);
  let o = 0;
  const take = <T extends Int32Array | Float32Array | Uint8Array>(
    src: T,
    make: (b: SharedArrayBuffer, o: number, n: number) => T,
  ): T => {
    const view = make(sab, o, src.length);
    view.set(src as never);
    o += src.byteLength;
    return view;
  };
  return {
    count: n,
    dim: cols.dim,
    ids: take(cols.ids, (b, at, len) => new Int32Array(b, at, len)),
    labels: take(cols.labels, (b, at, len) => new Int32Array(b, at, len)),
    features: take(cols.features, (b, at, len) => new Float32Array(b, at, len)),
    processed: take(cols.processed, (b, at, len) => new Uint8Array(b, at, len)),
  };
}

describe('rows in shared memory through a worker thread', () => {
  it('are shared in and out (nothing to transfer), intact, and the worker goes on', async () => {
    const worker = await threadTransport.start({
      index: 0,
      host: 'h0',
      kernelModule: ID_SUM_KERNEL,
      kernelConfig: { spin: 0 },
      livenessMs: 5000,
    });
    try {
      // 3 × 3000 rows of 256 features: 9.3 MB, past the 8 MB after which the thread collects.
      const plain = [0, 1, 2].map((k) => {
        const cols = randomColumns(3000, 256, k + 1);
        for (let r = 0; r < cols.count; r++) cols.ids[r] += k * 3000;
        return cols;
      });
      const shared = plain.map(inSharedMemory);
      expect(shared.flatMap(transferListOf)).toEqual([]);
      expect(await worker.insert(shared)).toBe(9000);
      // The coordinator's views stay usable: the memory is shared, not transferred away.
      expect(shared[0].ids.length).toBe(3000);
      // Out again.
      const out = await worker.extract([9000]);
      const rows = out.parts[0];
      const ids = rows.flatMap((f) => [...f.ids]).sort((a, b) => a - b);
      expect(ids).toEqual(plain.flatMap((f) => [...f.ids]).sort((a, b) => a - b));
      const byId = new Map<number, number>();
      for (const f of plain) for (let r = 0; r < f.count; r++) byId.set(f.ids[r], f.features[r * 256 + 5]);
      for (const f of rows)
        for (let r = 0; r < f.count; r++) expect(f.features[r * 256 + 5]).toBe(byId.get(f.ids[r]));
      expect(out.held).toBe(0);
      // Nothing is collected as the rows leave; asked afterwards, the thread collects once.
      expect(await worker.collectFreed?.()).toBe(true);
      expect(await worker.collectFreed?.()).toBe(false);
      // Still a working thread after its collection.
      expect(await worker.insert([randomColumns(10, 256, 9)])).toBe(10);
      // Ordinary buffers leaving are no reason to collect.
      await worker.extract([10]);
      expect(await worker.collectFreed?.()).toBe(false);
    } finally {
      await worker.close();
    }
  });
});
