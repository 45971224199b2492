/**
 * The receive pool of one job on an agent (framework/net/receive-pool.ts): how big it may
 * grow, which messages land in it, and which buffers come back to it.
 *
 * Budget: as much as the agent was first given (each worker slot's rows when its first pass
 * begins: the job's initial load), within --max-memory. An agent does not know the job's whole data, but its
 * own share is what an evacuation between equal hosts moves to it, and a rebalance moves
 * less. So a receiving agent holds at most about twice its share while waiting (its rows
 * plus the pool); a slab taken by a move is not replaced, and a slab whose rows were sent
 * away returns to the pool (up to the budget) instead of being freed and faulted in again.
 * Frames beyond the pool still arrive, in fresh memory: slower, never wrong.
 */
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { BodyAllocator } from '../net/frames.ts';
import type { BodyPlacement } from '../net/message-channel.ts';
import { type PoolStats, ReceivePool } from '../net/receive-pool.ts';
import { carriesExemplars, sharedBody } from './shared-bodies.ts';

export class ReceiveMemory {
  private readonly pool: ReceivePool;
  /** The most the pool may hold: the initial shares, as far as --max-memory allows. */
  private limit = 0;
  /** A warm slab, or fresh shared memory (shared-bodies.ts) when the pool has none for it. */
  private readonly allocate: BodyAllocator = (length) => this.pool.take(length) ?? sharedBody(length);

  constructor(
    /** --max-memory (bytes of exemplars), or null. */
    private readonly cap: number | null,
    /** Exemplar bytes the agent's workers hold now. */
    private readonly held: () => number,
    pool: ReceivePool = new ReceivePool(),
  ) {
    this.pool = pool;
  }

  /**
   * Exemplar bodies — a coordinator's `insert`, a peer's `rows` — are assembled in the pool;
   * other bodies (parameters, accumulators) in fresh memory, so they never drain it.
   */
  readonly placement: BodyPlacement = (header) => (carriesExemplars(header) ? this.allocate : null);

  /** A worker slot's initial share was `bytes`: the pool may hold as much again. */
  firstLoad(bytes: number): void {
    this.limit = Math.min(this.limit + bytes, this.room());
    this.pool.setBudget(this.limit);
  }

  /** Rows sent away and confirmed by their receiver: their buffers may be reused. */
  released(fragments: readonly ExemplarColumns[]): void {
    const limit = Math.min(this.limit, this.room());
    const seen = new Set<ArrayBufferLike>();
    for (const f of fragments) {
      for (const b of [f.ids.buffer, f.labels.buffer, f.features.buffer, f.processed.buffer]) {
        if (seen.has(b)) continue;
        seen.add(b);
        this.pool.recycle(b, limit);
      }
    }
  }

  /** Resolves once the pool has filled to its budget. */
  filled(): Promise<void> {
    return this.pool.filled();
  }

  stats(): PoolStats & { readonly budgetBytes: number } {
    return { ...this.pool.stats(), budgetBytes: this.limit };
  }

  close(): void {
    this.pool.close();
  }

  /** Bytes --max-memory leaves beside what the workers hold (no cap: unlimited). */
  private room(): number {
    return this.cap === null ? Number.POSITIVE_INFINITY : Math.max(0, this.cap - this.held());
  }
}
