import { describe, expect, it } from 'vitest';
import { ReceiveMemory } from '../../framework/agent/receive-memory.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { ReceivePool, SLAB_BYTES } from '../../framework/net/receive-pool.ts';

function syncPool(): ReceivePool {
  return new ReceivePool(SLAB_BYTES, (step) => step());
}

/** Columns viewing one buffer, as rows decoded in place from a frame are. */
function rowsOn(buffer: ArrayBufferLike): ExemplarColumns {
  return {
    count: 1,
    dim: 1,
    ids: new Int32Array(buffer, 0, 1),
    labels: new Int32Array(buffer, 8, 1),
    features: new Float32Array(buffer, 16, 1),
    processed: new Uint8Array(buffer, 24, 1),
  };
}

describe('ReceiveMemory', () => {
  it('pre-faults as much as the initial share, and places exemplar bodies only in it', () => {
    const pool = syncPool();
    const memory = new ReceiveMemory(null, () => 0, pool);
    memory.firstLoad(3 * SLAB_BYTES);
    expect(pool.stats().pooledBytes).toBe(3 * SLAB_BYTES);
    const forInsert = memory.placement({ op: 'insert' });
    const forRows = memory.placement({ type: 'rows' });
    expect(memory.placement({ op: 'pass' })).toBeNull();
    expect(memory.placement({ type: 'end' })).toBeNull();
    expect(forInsert?.(SLAB_BYTES)?.buffer.byteLength).toBe(SLAB_BYTES);
    expect(forRows?.(SLAB_BYTES)).not.toBeNull();
    expect(pool.stats().pooledBytes).toBe(SLAB_BYTES);
    // With the pool empty, exemplar bodies still go to shared memory, fresh, of their own.
    forRows?.(SLAB_BYTES);
    const fresh = forRows?.(1000);
    expect(fresh?.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(fresh?.byteOffset).toBe(0);
    expect(fresh?.buffer.byteLength).toBe(1000);
    expect(pool.stats().hits).toBe(3);
  });

  it('keeps within --max-memory beside what the workers hold', () => {
    const pool = syncPool();
    const memory = new ReceiveMemory(5 * SLAB_BYTES, () => 4 * SLAB_BYTES, pool);
    memory.firstLoad(4 * SLAB_BYTES);
    expect(memory.stats().budgetBytes).toBe(SLAB_BYTES);
    expect(pool.stats().pooledBytes).toBe(SLAB_BYTES);
  });

  it('takes back the slabs of rows sent away, once each, up to the budget', () => {
    const pool = syncPool();
    const memory = new ReceiveMemory(null, () => 0, pool);
    memory.firstLoad(SLAB_BYTES);
    const taken = memory.placement({ type: 'rows' })!(SLAB_BYTES)!;
    expect(pool.stats().pooledBytes).toBe(0);
    const slab = taken.buffer;
    expect(slab).toBeInstanceOf(SharedArrayBuffer);
    memory.released([rowsOn(slab), rowsOn(slab)]);
    expect(pool.stats().pooledBytes).toBe(SLAB_BYTES);
    memory.released([rowsOn(new SharedArrayBuffer(SLAB_BYTES))]); // over the budget: left to the GC
    expect(pool.stats().pooledBytes).toBe(SLAB_BYTES);
    memory.close();
    expect(pool.stats().pooledBytes).toBe(0);
  });
});
