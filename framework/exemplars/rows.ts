/**
 * Exemplar rows as plain typed arrays: cut, copy, view, measure. The columns have exactly
 * the layout of the Arrow record batches in batch.ts (which wraps them without copying),
 * but this module does not load apache-arrow: worker threads need only these, and loading
 * Arrow in every thread costs about 0.2 s of CPU each (8 threads on 2 cores: 1.4 s).
 */
import type { ExemplarColumns } from './columns.ts';

/** Rows [start, end) copied into fresh buffers of their own (one copy; transferable). */
export function copyRows(cols: ExemplarColumns, start: number, end: number): ExemplarColumns {
  const d = cols.dim;
  return {
    count: end - start,
    dim: d,
    ids: cols.ids.slice(start, end),
    labels: cols.labels.slice(start, end),
    features: cols.features.slice(start * d, end * d),
    processed: cols.processed.slice(start, end),
  };
}

/** Bytes one exemplar of `dim` features takes: id and label (int32), features (float32), processed flag. */
/** The bytes of a typed array, as a view (no copy). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function exemplarBytes(dim: number): number {
  return 4 + 4 + 4 * dim + 1;
}

/** About this many bytes per stored batch: small enough that cutting one is cheap, large enough for tight loops. */
export const BATCH_BYTES = 1 << 20;

/** Rows per batch of about `BATCH_BYTES` for rows like those of `cols` (at least 256). */
export function batchRowsFor(cols: ExemplarColumns): number {
  return Math.max(256, Math.floor(BATCH_BYTES / exemplarBytes(cols.dim)));
}

/**
 * Rows [start, end) copied into batches of about `BATCH_BYTES`, each with buffers of its own:
 * a later move then hands whole batches over without copying, and cuts at most one.
 */
export function copyIntoBatches(cols: ExemplarColumns, start: number, end: number): ExemplarColumns[] {
  const rows = batchRowsFor(cols);
  const out: ExemplarColumns[] = [];
  for (let s = start; s < end; s += rows) out.push(copyRows(cols, s, Math.min(end, s + rows)));
  return out;
}

/** Zero-copy view of rows [start, end). */
export function viewRows(cols: ExemplarColumns, start: number, end: number): ExemplarColumns {
  const d = cols.dim;
  return {
    count: end - start,
    dim: d,
    ids: cols.ids.subarray(start, end),
    labels: cols.labels.subarray(start, end),
    features: cols.features.subarray(start * d, end * d),
    processed: cols.processed.subarray(start, end),
  };
}

/**
 * The buffers to put in a transfer list when posting `cols` to another thread. Shared memory
 * (an agent's exemplar bodies: framework/agent/shared-bodies.ts) is not listed: it cannot be
 * transferred, and the other thread gets it by sharing, without a copy all the same.
 */
export function transferListOf(cols: ExemplarColumns): ArrayBuffer[] {
  const buffers = [cols.ids.buffer, cols.labels.buffer, cols.features.buffer, cols.processed.buffer];
  return buffers.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

/** Bytes of `cols` held in shared memory. */
export function sharedBytesOf(cols: ExemplarColumns): number {
  let n = 0;
  for (const a of [cols.ids, cols.labels, cols.features, cols.processed])
    if (a.buffer instanceof SharedArrayBuffer) n += a.byteLength;
  return n;
}

/** Total bytes of the exemplar data in `cols` (what a move costs on the wire). */
export function byteSize(cols: ExemplarColumns): number {
  return cols.ids.byteLength + cols.labels.byteLength + cols.features.byteLength + cols.processed.byteLength;
}

/** Build columns from a table of features and labels, with ids `firstId + row`. */
export function columnsFromTable(
  features: Float32Array,
  labels: Int32Array,
  dim: number,
  ids?: Int32Array,
): ExemplarColumns {
  const count = labels.length;
  const idColumn = ids ?? Int32Array.from({ length: count }, (_, i) => i);
  return { count, dim, ids: idColumn, labels, features, processed: new Uint8Array(count) };
}

/** Fresh columns holding the rows `ids` of `cols` (ids are row numbers), processed flags cleared. */
export function gatherRows(cols: ExemplarColumns, ids: Int32Array): ExemplarColumns {
  const { dim } = cols;
  const count = ids.length;
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const row = ids[k];
    labels[k] = cols.labels[row];
    features.set(cols.features.subarray(row * dim, (row + 1) * dim), k * dim);
  }
  return { count, dim, ids: Int32Array.from(ids), labels, features, processed: new Uint8Array(count) };
}

/** Rows of `cols` not yet counted in this pass (processed flag 0). */
export function unprocessedIn(cols: ExemplarColumns): number {
  const p = cols.processed;
  let n = 0;
  for (let i = 0; i < cols.count; i++) n += 1 - p[i];
  return n;
}
