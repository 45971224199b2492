/**
 * Arrow IPC streams of one record batch, from templates: the bytes arrow-js writes and reads
 * for a move over TCP, without running arrow-js for every ~1 MB batch.
 *
 * Why: a stream of one batch is its four column buffers wrapped in ~2 KB of metadata (the
 * schema, the record-batch message, padding, the end-of-stream marker) that depend only on
 * the feature count and the row count, never on the values. arrow-js rebuilds that metadata
 * (flatbuffers, vectors, schema objects) for every batch: 0.3–0.4 ms to write and as much to
 * read a 1 MB batch, warm, in one idle process (more on agents sharing 2 cores with the
 * move); from a template, 0.01–0.05 ms to write and 0.05–0.2 ms to read. (Most of the
 * 1.5–4 ms a batch first measured on the agents was re-importing the codec: payloads.ts.)
 *
 * - Writing: the first stream of a given shape is written by arrow-js's
 *   `RecordBatchStreamWriter`; its metadata pieces are kept, and the next stream of that
 *   shape is the same pieces with the new batch's column buffers in place of the old ones.
 * - Reading: the first stream of a given length is read by arrow-js's `RecordBatchReader`
 *   and checked (ipc.ts); the next one of that length whose every metadata byte is equal to
 *   it has the same structure, so its columns are views at the same offsets. Any difference
 *   in a single byte sends it through arrow-js and all its checks.
 *
 * Either way the bytes on the wire are exactly what arrow-js writes (a test compares them).
 */
import type { ExemplarColumns } from './columns.ts';
import { bytesOf } from './rows.ts';

type Column = 'ids' | 'labels' | 'features' | 'processed';
const COLUMNS: readonly Column[] = ['ids', 'labels', 'features', 'processed'];

/** A written stream: constant metadata pieces, and the slots where a batch's columns go. */
type WriteTemplate = readonly (Uint8Array | Column)[];

/** A read stream: where each column lies in the body, and every other byte's expected value. */
interface ReadTemplate {
  readonly count: number;
  readonly dim: number;
  /** Byte offset of each column from the start of the body. */
  readonly offsets: Readonly<Record<Column, number>>;
  /** The body's offset in its buffer modulo 8: the typed-array views need the same alignment. */
  readonly alignment: number;
  /** The metadata: [start, bytes] for every range of the body that is not a column. */
  readonly constant: readonly (readonly [number, Uint8Array])[];
}

/** Shapes seen in one process are few (one per batch size); bounded anyway. */
const MAX_TEMPLATES = 256;
const writeTemplates = new Map<string, WriteTemplate>();
const readTemplates = new Map<string, ReadTemplate>();

function remember<T>(map: Map<string, T>, key: string, value: T): void {
  if (map.size >= MAX_TEMPLATES) map.clear();
  map.set(key, value);
}

function isViewOf(part: Uint8Array, column: ArrayBufferView): boolean {
  return (
    part.buffer === column.buffer &&
    part.byteOffset === column.byteOffset &&
    part.byteLength === column.byteLength
  );
}

/**
 * The pieces of a one-batch stream holding `f` (dim `f.dim`, `f.count` rows): from the
 * template of that shape, or from `write` (arrow-js), whose pieces then become the template.
 */
export async function streamPartsFromTemplate(
  f: ExemplarColumns,
  write: (f: ExemplarColumns) => Promise<Uint8Array[]>,
): Promise<Uint8Array[]> {
  const key = `${f.dim}:${f.count}`;
  const template = writeTemplates.get(key);
  if (template !== undefined) return template.map((p) => (typeof p === 'string' ? bytesOf(f[p]) : p));
  const parts = await write(f);
  const slots = parts.map((p) => COLUMNS.find((c) => f[c].byteLength > 0 && isViewOf(p, f[c])) ?? p);
  // Only when every column went out as a view of itself, each once: otherwise some piece
  // carries values, and a template would repeat them.
  const found = slots.filter((s): s is Column => typeof s === 'string');
  if (found.length === COLUMNS.length && new Set(found).size === COLUMNS.length) {
    remember(
      writeTemplates,
      key,
      slots.map((s) => (typeof s === 'string' ? s : s.slice())),
    );
  }
  return parts;
}

/**
 * The exemplars of a one-batch stream `body`: views at the template's offsets when every
 * metadata byte equals that of the last stream of this length `read` (arrow-js) accepted;
 * otherwise `read`'s answer, which becomes the template if it is one batch viewed in place.
 */
export function columnsFromTemplate(
  body: Uint8Array,
  dim: number,
  read: (body: Uint8Array) => ExemplarColumns[],
): ExemplarColumns[] {
  const key = `${dim}:${body.byteLength}`;
  const t = readTemplates.get(key);
  if (t !== undefined && body.byteOffset % 8 === t.alignment && matches(body, t)) return [viewsOf(body, t)];
  const out = read(body);
  if (out.length === 1) {
    const template = templateOf(body, out[0]);
    if (template !== null) remember(readTemplates, key, template);
  }
  return out;
}

function matches(body: Uint8Array, t: ReadTemplate): boolean {
  for (const [start, bytes] of t.constant) {
    if (Buffer.compare(bytes, body.subarray(start, start + bytes.byteLength)) !== 0) return false;
  }
  return true;
}

function viewsOf(body: Uint8Array, t: ReadTemplate): ExemplarColumns {
  const at = (c: Column) => body.byteOffset + t.offsets[c];
  return {
    count: t.count,
    dim: t.dim,
    ids: new Int32Array(body.buffer, at('ids'), t.count),
    labels: new Int32Array(body.buffer, at('labels'), t.count),
    features: new Float32Array(body.buffer, at('features'), t.count * t.dim),
    processed: new Uint8Array(body.buffer, at('processed'), t.count),
  };
}

/** The template of `body` decoded as `cols`, or null when the columns are not views of it. */
function templateOf(body: Uint8Array, cols: ExemplarColumns): ReadTemplate | null {
  const ranges: [Column, number, number][] = [];
  for (const c of COLUMNS) {
    const a = cols[c];
    const start = a.byteOffset - body.byteOffset;
    if (a.buffer !== body.buffer || start < 0 || start + a.byteLength > body.byteLength) return null;
    ranges.push([c, start, start + a.byteLength]);
  }
  ranges.sort((x, y) => x[1] - y[1]);
  const constant: [number, Uint8Array][] = [];
  let at = 0;
  for (const [, start, end] of ranges) {
    if (start < at) return null; // overlapping columns: not a layout to repeat
    if (start > at) constant.push([at, body.slice(at, start)]);
    at = end;
  }
  if (at < body.byteLength) constant.push([at, body.slice(at)]);
  const offsets = Object.fromEntries(ranges.map(([c, start]) => [c, start])) as Record<Column, number>;
  return { count: cols.count, dim: cols.dim, offsets, alignment: body.byteOffset % 8, constant };
}
