/**
 * The rows a worker's thread holds, as the agent's main thread can see them: the same
 * shared-memory views the thread was given (an agent's exemplar bodies arrive in shared
 * memory: shared-bodies.ts), kept in a store of its own that goes through the same steps.
 *
 * Why: a vacate sends all of a worker's rows away, and asking the thread for them first
 * took two hops between threads: 1.0–2.0 ms from the request to the rows on 2 busy cores,
 * against 0.3–0.4 ms from the mirror (timestamps, issue 10). With the mirror the sending
 * agent streams at once, and the thread gives its rows up once the receivers have confirmed
 * them (worker-slot.ts), so it does not take a core from the stream either.
 *
 * It is only trusted while it cannot differ from the thread's store: rows added (inserts,
 * moves in, rows kept after a move out) in shared memory, and nothing else. Anything that
 * changes the thread's batches otherwise — an extract through the thread (a cut batch is
 * copied), a merge of small batches past `COMPACT_ABOVE_BATCHES` (copies), rows in memory
 * of the thread's own — ends that until a drop empties both: meanwhile what the thread holds
 * is asked of the thread. The processed flags are the thread's
 * own bytes (shared), so a mid-pass move sends them as the thread wrote them.
 */
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { COMPACT_ABOVE_BATCHES, ExemplarStore } from '../exemplars/store.ts';

export class RowsMirror {
  /** Null once the thread's rows may differ from these (then asked of the thread). */
  private store: ExemplarStore | null = new ExemplarStore();

  /** The thread's rows are known here (tests, diagnostics). */
  get trusted(): boolean {
    return this.store !== null;
  }

  /** The thread took `fragments` in. */
  added(fragments: readonly ExemplarColumns[]): void {
    const store = this.store;
    if (store === null) return;
    if (!fragments.every(inSharedMemory)) {
      // Transferred to the thread: the views here no longer see the rows.
      this.store = null;
      return;
    }
    for (const f of fragments) store.add(f);
    // The thread merges its small batches now (worker-thread.ts): into copies of its own.
    if (store.batchCount > COMPACT_ABOVE_BATCHES) this.store = null;
  }

  /** The thread's batches changed some other way (an extract through it). */
  lost(): void {
    this.store = null;
  }

  /** The thread dropped every row: both are empty, and agree again. */
  emptied(): void {
    this.store = new ExemplarStore();
  }

  /**
   * All the thread's rows, cut into `counts` as the thread would cut them (each part's
   * batches the only ones on their buffers), when the mirror is trusted and holds exactly
   * `held` rows and `counts` asks for all of them; else null. The mirror is then empty: the
   * caller has the thread give its rows up too.
   */
  takeAll(counts: readonly number[], held: number): ExemplarColumns[][] | null {
    const store = this.store;
    if (store === null || store.count !== held || counts.reduce((a, n) => a + n, 0) !== held) return null;
    const parts = counts.map((n) => store.take(n));
    this.store = new ExemplarStore();
    return parts;
  }
}

function inSharedMemory(f: ExemplarColumns): boolean {
  return [f.ids, f.labels, f.features, f.processed].every((a) => a.buffer instanceof SharedArrayBuffer);
}
