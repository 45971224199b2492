import type { ExemplarColumns } from './columns.ts';
import { copyRows, unprocessedIn, viewRows } from './rows.ts';

/**
 * Above this many batches a worker merges its small ones (`compact`), so chunks stay full and
 * the pass's loop stays tight: on each insert, in threads and in-process workers alike.
 */
export const COMPACT_ABOVE_BATCHES = 64;

/**
 * The exemplars one worker holds: a list of batches in Arrow's columnar layout — each the
 * four buffers of an exemplar record batch (`toRecordBatch` in batch.ts wraps them without
 * copying), fragments from other workers appended as they are, zero copy. The store works
 * on the buffers themselves, so a worker thread never loads apache-arrow. Order is not kept:
 * ADM reshuffles exemplars freely, so `take` cuts from the end, whole batches first.
 */
export class ExemplarStore {
  private batches: { cols: ExemplarColumns }[] = [];
  private total = 0;
  private features = 0;

  /** Features per exemplar, as of the last rows added: kept when the store empties (a pass's accumulator depends on it). */
  get dim(): number {
    return this.features;
  }

  get count(): number {
    return this.total;
  }

  get batchCount(): number {
    return this.batches.length;
  }

  /** Each batch's typed-array views, for the inner loop. */
  columns(): readonly ExemplarColumns[] {
    return this.batches.map((b) => b.cols);
  }

  add(cols: ExemplarColumns): void {
    if (cols.count === 0) return;
    this.features = cols.dim;
    this.batches.push({ cols });
    this.total += cols.count;
  }

  /**
   * Remove `count` exemplars and return them as transferable fragments. Whole batches leave
   * as they are, zero copy. A batch cut in two copies its smaller side into fresh buffers and
   * keeps the larger one on the original buffers, so at most one small copy per cut — fresh
   * pages fault in slowly (a 1 MB copy costs milliseconds), and an evacuation cuts once per
   * receiver. Every batch is then the only one on its buffers, so whatever leaves can be
   * transferred whole (a view's transfer takes its entire buffer, which nothing else uses).
   */
  take(count: number): ExemplarColumns[] {
    if (!Number.isInteger(count) || count < 0 || count > this.total) {
      throw new RangeError(`cannot take ${count} exemplars from a store of ${this.total}`);
    }
    const out: ExemplarColumns[] = [];
    let left = count;
    while (left > 0) {
      const last = this.batches[this.batches.length - 1];
      const n = last.cols.count;
      if (n <= left) {
        this.batches.pop();
        out.push(last.cols);
        left -= n;
        continue;
      }
      const keep = n - left;
      const [leaving, kept] =
        left >= keep
          ? [viewRows(last.cols, keep, n), copyRows(last.cols, 0, keep)]
          : [copyRows(last.cols, keep, n), viewRows(last.cols, 0, keep)];
      out.push(leaving);
      this.batches[this.batches.length - 1] = { cols: kept };
      left = 0;
    }
    this.total -= count;
    return out;
  }

  /** Mark every exemplar as not yet counted: the start of a new pass. */
  resetProcessed(): void {
    for (const b of this.batches) b.cols.processed.fill(0);
  }

  /** How many exemplars are not yet counted in this pass. */
  unprocessed(): number {
    return this.batches.reduce((n, b) => n + unprocessedIn(b.cols), 0);
  }

  /** All ids held, for audits (tests, fault recovery). */
  /** Processed flags in the order of `ids()`. */
  processedFlags(): Uint8Array {
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const b of this.batches) {
      out.set(b.cols.processed, o);
      o += b.cols.count;
    }
    return out;
  }

  /** Forget every exemplar (a drop: they are reloaded elsewhere from the source). */
  clear(): void {
    this.batches = [];
    this.total = 0;
  }

  ids(): Int32Array {
    const out = new Int32Array(this.total);
    let o = 0;
    for (const b of this.batches) {
      out.set(b.cols.ids, o);
      o += b.cols.count;
    }
    return out;
  }

  /**
   * Merge runs of small fragments (left by moves of a few exemplars) into batches of up to
   * `targetRows`, so the inner loop's chunks stay full. Only the small ones are copied:
   * batches of `targetRows` or more are left alone, zero copy.
   */
  compact(targetRows: number): void {
    const kept: { cols: ExemplarColumns }[] = [];
    let run: ExemplarColumns[] = [];
    let runRows = 0;
    const flush = () => {
      if (run.length === 1) kept.push({ cols: run[0] });
      else if (run.length > 1) {
        const merged = concatColumns(run);
        kept.push({ cols: merged });
      }
      run = [];
      runRows = 0;
    };
    for (const b of this.batches) {
      if (b.cols.count >= targetRows) {
        kept.push(b);
        continue;
      }
      if (runRows + b.cols.count > targetRows) flush();
      run.push(b.cols);
      runRows += b.cols.count;
    }
    flush();
    this.batches = kept;
  }
}

export function concatColumns(parts: readonly ExemplarColumns[]): ExemplarColumns {
  const dim = parts[0]?.dim ?? 0;
  const count = parts.reduce((s, p) => s + p.count, 0);
  const out: ExemplarColumns = {
    count,
    dim,
    ids: new Int32Array(count),
    labels: new Int32Array(count),
    features: new Float32Array(count * dim),
    processed: new Uint8Array(count),
  };
  let o = 0;
  for (const p of parts) {
    out.ids.set(p.ids, o);
    out.labels.set(p.labels, o);
    out.features.set(p.features, o * dim);
    out.processed.set(p.processed, o);
    o += p.count;
  }
  return out;
}
