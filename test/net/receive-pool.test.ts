import { describe, expect, it } from 'vitest';
import { MIN_POOLED_BYTES, ReceivePool, SLAB_BYTES } from '../../framework/net/receive-pool.ts';

/** A pool whose background fill runs when the test says so. */
function manualPool(slab = SLAB_BYTES): { pool: ReceivePool; runFill(): void } {
  const steps: (() => void)[] = [];
  const pool = new ReceivePool(slab, (step) => steps.push(step));
  return {
    pool,
    runFill() {
      while (steps.length) steps.shift()!();
    },
  };
}

describe('ReceivePool', () => {
  it('fills to its budget in the background, in whole slabs, and hands each out once', () => {
    const { pool, runFill } = manualPool();
    pool.setBudget(2.5 * SLAB_BYTES);
    expect(pool.stats().pooledBytes).toBe(0); // nothing touched until the fill runs
    runFill();
    expect(pool.stats()).toMatchObject({ pooledBytes: 3 * SLAB_BYTES, faultedBytes: 3 * SLAB_BYTES });
    const a = pool.take(SLAB_BYTES - 100)!;
    const b = pool.take(SLAB_BYTES)!;
    expect(a.byteOffset).toBe(0);
    expect(a.byteLength).toBe(SLAB_BYTES - 100);
    expect(a.buffer.byteLength).toBe(SLAB_BYTES);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.buffer).not.toBe(a.buffer);
    // A slab taken is not replaced: the budget shrinks with it.
    runFill();
    expect(pool.stats()).toMatchObject({ pooledBytes: SLAB_BYTES, faultedBytes: 3 * SLAB_BYTES, hits: 2 });
  });

  it('refuses frames larger than a slab or too small for one, and counts misses once budgeted', () => {
    const { pool, runFill } = manualPool();
    expect(pool.take(SLAB_BYTES)).toBeNull(); // no budget yet: not a miss
    expect(pool.stats().misses).toBe(0);
    pool.setBudget(SLAB_BYTES);
    runFill();
    expect(pool.take(SLAB_BYTES + 1)).toBeNull();
    expect(pool.take(MIN_POOLED_BYTES - 1)).toBeNull();
    expect(pool.take(MIN_POOLED_BYTES)).not.toBeNull();
    expect(pool.take(MIN_POOLED_BYTES)).toBeNull(); // empty now
    expect(pool.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('takes back slabs up to a limit, and nothing else', () => {
    const { pool } = manualPool();
    // Slabs are shared memory (framework/agent/shared-bodies.ts): nothing else is taken back.
    const slab = new SharedArrayBuffer(SLAB_BYTES);
    expect(pool.recycle(new SharedArrayBuffer(SLAB_BYTES - 1), 10 * SLAB_BYTES)).toBe(false);
    expect(pool.recycle(new ArrayBuffer(SLAB_BYTES), 10 * SLAB_BYTES)).toBe(false);
    expect(pool.recycle(slab, 0)).toBe(false);
    expect(pool.recycle(slab, SLAB_BYTES)).toBe(true);
    expect(pool.recycle(slab, 10 * SLAB_BYTES)).toBe(false); // already in
    expect(pool.recycle(new SharedArrayBuffer(SLAB_BYTES), SLAB_BYTES)).toBe(false); // over the limit
    expect(pool.take(SLAB_BYTES)!.buffer).toBe(slab);
  });

  it('releases slabs when the budget drops, and everything on close', () => {
    const { pool, runFill } = manualPool();
    pool.setBudget(4 * SLAB_BYTES);
    runFill();
    pool.setBudget(SLAB_BYTES);
    expect(pool.stats().pooledBytes).toBe(SLAB_BYTES);
    pool.close();
    pool.setBudget(4 * SLAB_BYTES);
    runFill();
    expect(pool.stats().pooledBytes).toBe(0);
    expect(pool.take(SLAB_BYTES)).toBeNull();
  });

  it('fills with the default scheduler without blocking the caller', async () => {
    const pool = new ReceivePool(64 << 10);
    pool.setBudget(8 * (64 << 10));
    expect(pool.stats().pooledBytes).toBe(0);
    while (pool.stats().pooledBytes < 8 * (64 << 10)) await new Promise((r) => setImmediate(r));
    expect(pool.stats().faultedBytes).toBe(8 * (64 << 10));
  });

  it('says when the background fill is over (at once when there is nothing to fill)', async () => {
    const { pool, runFill } = manualPool();
    let filled = false;
    await pool.filled(); // no budget: nothing to wait for
    pool.setBudget(3 * SLAB_BYTES);
    void pool.filled().then(() => {
      filled = true;
    });
    await Promise.resolve();
    expect(filled).toBe(false); // the fill has not run yet
    runFill();
    await Promise.resolve();
    expect(filled).toBe(true);
    expect(pool.stats().pooledBytes).toBe(3 * SLAB_BYTES);
    // A waiter is let go when the pool closes before it fills, too.
    const second = manualPool();
    second.pool.setBudget(SLAB_BYTES);
    const closed = second.pool.filled();
    second.pool.close();
    await closed;
  });
});
