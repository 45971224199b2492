import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  type TypeMap,
  Uint8,
} from 'apache-arrow';
import type { ExemplarColumns } from './columns.ts';

/**
 * Exemplars as Arrow record batches: `id` int32, `label` int32, `features`
 * FixedSizeList<float32>[dim], `processed` uint8.
 *
 * Why FixedSizeList<Float32>: its child is ONE contiguous row-major Float32Array, so the
 * kernel reads it directly (zero copy), a batch moves between threads as four
 * transferable buffers, and Arrow IPC writes it as-is for TCP. A Struct of `dim` float
 * columns would scatter a row over `dim` buffers; a Binary column would need offsets.
 */
export function exemplarSchema(dim: number): Schema {
  return new Schema([
    new Field('id', new Int32(), false),
    new Field('label', new Int32(), false),
    new Field('features', new FixedSizeList(dim, new Field('value', new Float32(), false)), false),
    new Field('processed', new Uint8(), false),
  ]);
}

/** Wrap typed arrays as an Arrow RecordBatch without copying them. */
export function toRecordBatch(cols: ExemplarColumns): RecordBatch {
  const schema = exemplarSchema(cols.dim);
  const length = cols.count;
  const featureType = schema.fields[2].type as FixedSizeList<Float32>;
  const children = [
    makeData({ type: new Int32(), length, data: cols.ids }),
    makeData({ type: new Int32(), length, data: cols.labels }),
    makeData({
      type: featureType,
      length,
      child: makeData({ type: new Float32(), length: length * cols.dim, data: cols.features }),
    }),
    makeData({ type: new Uint8(), length, data: cols.processed }),
  ];
  const data = makeData({ type: new Struct(schema.fields), length, children, nullCount: 0 });
  return new RecordBatch(schema, data);
}

/** Zero-copy typed-array views of a RecordBatch with the exemplar schema. */
export function columnsOf(batch: RecordBatch<TypeMap>): ExemplarColumns {
  const [ids, labels, features, processed] = batch.data.children;
  const dim = (features.type as FixedSizeList).listSize;
  const count = batch.numRows;
  const child = features.children[0];
  return {
    count,
    dim,
    ids: (ids.values as Int32Array).subarray(ids.offset, ids.offset + count),
    labels: (labels.values as Int32Array).subarray(labels.offset, labels.offset + count),
    features: (child.values as Float32Array).subarray(
      (features.offset + child.offset) * dim,
      (features.offset + child.offset + count) * dim,
    ),
    processed: (processed.values as Uint8Array).subarray(processed.offset, processed.offset + count),
  };
}

// The typed-array helpers live in rows.ts (no Arrow); re-exported for callers of this module.
export {
  BATCH_BYTES,
  batchRowsFor,
  byteSize,
  columnsFromTable,
  copyIntoBatches,
  copyRows,
  gatherRows,
  transferListOf,
  viewRows,
} from './rows.ts';
