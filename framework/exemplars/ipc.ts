/**
 * Exemplars as an Arrow IPC *stream*: the codec a move over TCP uses (issue 10).
 *
 * What travels: exactly the four exemplar columns — `id` int32, `label` int32, `features`
 * FixedSizeList<float32>[dim], `processed` uint8 — nothing else: no parameters, no job
 * state, no encryption (TLS, if any, is the transport's job). One stream is one schema
 * message, record batches of at most ~4 MiB / 16k rows (so a reader never has to buffer one
 * huge message), and the end-of-stream marker. Several streams may follow each other on
 * one connection.
 *
 * The schema metadata names the format (`admove.exemplars: 1`) and says how many rows
 * the stream carries (`admove.rows`): Arrow's reader cannot tell the end-of-stream marker
 * from a connection that closed between two messages, so the row count is what turns a
 * cut stream into an error instead of a silent loss of exemplars.
 *
 * On a connection, messages are cut out by their length prefixes in ipc-framing.ts (not
 * by arrow-js's async readers, which can hold a complete stream back: see there) and then
 * decoded by arrow-js's synchronous reader, in place.
 *
 * Byte order: Arrow IPC buffers are little-endian here. arrow-js writes the platform's
 * order (and flags it in the schema) but never byte-swaps on reading, and every host Node
 * runs admove on is little-endian; `requireLittleEndian` refuses to run anywhere else
 * rather than exchange garbage.
 */
import { endianness } from 'node:os';
import type { Writable } from 'node:stream';
import {
  DataType,
  MessageHeader,
  type RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
} from 'apache-arrow';
import { columnsOf, exemplarSchema, toRecordBatch, viewRows } from './batch.ts';
import type { ExemplarColumns } from './columns.ts';
import { ByteReader, readMessage, SchemaMismatch, TruncatedStream } from './ipc-framing.ts';
import { exemplarBytes } from './rows.ts';

export { SchemaMismatch, TruncatedStream };

/** Schema metadata key naming the format, and the version this module writes and reads. */
export const FORMAT_KEY = 'admove.exemplars';
export const FORMAT_VERSION = '1';
/** Schema metadata key holding the number of rows in the stream. */
export const ROWS_KEY = 'admove.rows';

/** Record batches are cut at this many rows or `MAX_BATCH_BYTES`, whichever comes first. */
export const MAX_BATCH_ROWS = 16_384;
/** At dim 784, 16k rows would be a 51 MB message: bytes bound a batch as well as rows. */
export const MAX_BATCH_BYTES = 4 << 20;

export interface EncodeOptions {
  /** Rows per record batch at most (default: `MAX_BATCH_ROWS`, and no more than `MAX_BATCH_BYTES` of rows). */
  readonly maxBatchRows?: number;
}

/** The schema of one stream of `rows` exemplars of `dim` features (the fields of `exemplarSchema`). */
export function exemplarStreamSchema(dim: number, rows: number): Schema {
  const metadata = new Map([
    [FORMAT_KEY, FORMAT_VERSION],
    [ROWS_KEY, String(rows)],
  ]);
  return new Schema(exemplarSchema(dim).fields, metadata);
}

/** Arrow IPC bytes of one stream holding every row of `fragments` (one copy: the join). */
export function encodeExemplars(
  fragments: readonly ExemplarColumns[],
  dim: number,
  options: EncodeOptions = {},
): Uint8Array {
  return finishedWriter(fragments, dim, options).toUint8Array(true);
}

/**
 * Write one stream holding every row of `fragments` to `out` (a socket), respecting
 * back-pressure, without ending `out`. The body buffers go out as views of the fragments'
 * own arrays (no copy), so the fragments must not change until the promise settles.
 * Resolves with the bytes written once the last chunk has been handed to the OS.
 */
export async function writeExemplars(
  out: Writable,
  fragments: readonly ExemplarColumns[],
  dim: number,
  options: EncodeOptions = {},
): Promise<number> {
  let written = 0;
  let last: Uint8Array | null = null;
  for await (const chunk of finishedWriter(fragments, dim, options)) {
    if (last !== null) await writeChunk(out, last);
    written += chunk.byteLength;
    last = chunk;
  }
  if (last !== null) await writeLastChunk(out, last);
  return written;
}

/**
 * One stream holding every row of `fragments`, as the writer's pieces in order: metadata,
 * padding and the body buffers as views of the fragments' own arrays (no copy). Send them
 * one after the other (a socket's writev); the fragments must not change until they are sent.
 */
export async function exemplarStreamParts(
  fragments: readonly ExemplarColumns[],
  dim: number,
  options: EncodeOptions = {},
): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for await (const chunk of finishedWriter(fragments, dim, options)) parts.push(chunk);
  return parts;
}

/**
 * Every stream in `bytes` (streams back to back; or the same bytes in consecutive pieces),
 * each as its record batches' columns. Zero copy when a message body lies in one piece.
 */
export function decodeExemplarStreams(
  bytes: Uint8Array | Iterable<Uint8Array>,
  dim: number,
): ExemplarColumns[][] {
  requireLittleEndian();
  const streams: ExemplarColumns[][] = [];
  try {
    for (const reader of RecordBatchReader.readAll(bytes)) {
      const stream = StreamCheck.of(reader, dim);
      for (const batch of reader) if (!stream.add(batch)) break;
      streams.push(stream.finish());
    }
  } catch (error) {
    throw asStreamError(error);
  }
  return streams;
}

/** The one stream in `bytes`, as its record batches' columns. Zero copy. */
export function decodeExemplars(bytes: Uint8Array | Iterable<Uint8Array>, dim: number): ExemplarColumns[] {
  const streams = decodeExemplarStreams(bytes, dim);
  if (streams.length !== 1) {
    throw new TruncatedStream(`expected one exemplar stream, received ${streams.length}`);
  }
  return streams[0];
}

/**
 * Each stream arriving on `source` (a net.Socket, or any async iterable of bytes), whole
 * and checked, until `source` ends. A stream is yielded only once all of it is in, so a
 * move is never half applied; its schema is checked as soon as it arrives, so a wrong
 * stream is refused before its body is buffered. On an error, or when the caller stops
 * early, the source's iterator is ended (a socket is destroyed): after a broken stream the
 * connection cannot be resynchronised anyway.
 *
 * Copies: a message body is a view of the received chunk when it lies in one chunk and is
 * 8-byte aligned; otherwise it is copied once. The columns are views of the body.
 */
export async function* readExemplarStreams(
  source: AsyncIterable<Uint8Array>,
  dim: number,
): AsyncGenerator<ExemplarColumns[]> {
  requireLittleEndian();
  const input = new ByteReader(source[Symbol.asyncIterator]());
  try {
    for (;;) {
      const messages = await readOneStream(input, dim);
      if (messages === null) return;
      yield decodeExemplars(messages, dim);
    }
  } finally {
    await input.close();
  }
}

/**
 * The bytes of the next whole stream on `input` (schema message to end-of-stream marker),
 * or null when the input ends cleanly between streams.
 */
async function readOneStream(input: ByteReader, dim: number): Promise<Uint8Array[] | null> {
  const first = await readMessage(input);
  if (first === null) return null;
  if (first.message === null || !first.message.isSchema()) {
    throw new SchemaMismatch('not an exemplar stream: it does not start with a schema message');
  }
  const announced = checkSchema(first.message.header(), dim);
  const chunks = [...first.chunks];
  for (let rows = 0; ; ) {
    const next = await readMessage(input);
    if (next === null) {
      throw new TruncatedStream(
        `exemplar stream cut short: received ${rows} of the ${announced} rows announced`,
      );
    }
    chunks.push(...next.chunks);
    if (next.message === null) return chunks;
    if (!next.message.isRecordBatch()) {
      throw new SchemaMismatch(
        `exemplar stream carries a ${MessageHeader[next.message.headerType]} message: only record batches belong in it`,
      );
    }
    rows += next.message.header().length;
    if (rows > announced) {
      throw new SchemaMismatch(`exemplar stream sends more than the ${announced} rows it announced`);
    }
  }
}

/** Collects one stream's batches, refusing anything that is not the expected exemplar stream. */
class StreamCheck {
  private readonly expectedRows: number;
  private rows = 0;
  private readonly fragments: ExemplarColumns[] = [];

  static of(reader: RecordBatchReader, dim: number): StreamCheck {
    if (reader.isFile()) throw new SchemaMismatch('received an Arrow IPC file, expected an Arrow IPC stream');
    return new StreamCheck(reader.schema, dim);
  }

  private constructor(
    private readonly schema: Schema,
    private readonly dim: number,
  ) {
    this.expectedRows = checkSchema(schema, dim);
  }

  /**
   * Take one batch; false when the stream has ended. arrow-js answers a stream with no
   * record batch with an empty placeholder batch *after* consuming its end-of-stream
   * marker; asking it for one more batch then reads on into the next stream on the
   * connection (measured with apache-arrow 21.2.0). Our writer never writes an empty batch,
   * so an empty batch means: stop here.
   */
  add(batch: RecordBatch): boolean {
    // A stream may announce a new schema mid-way; arrow-js then silently switches to it.
    if (batch.schema !== this.schema) checkSchema(batch.schema, this.dim);
    if (batch.numRows === 0) return false;
    refuseNulls(batch);
    this.rows += batch.numRows;
    if (this.rows > this.expectedRows) {
      throw new SchemaMismatch(`exemplar stream sends more than the ${this.expectedRows} rows it announced`);
    }
    this.fragments.push(columnsOf(batch));
    return true;
  }

  finish(): ExemplarColumns[] {
    if (this.rows !== this.expectedRows) {
      throw new TruncatedStream(
        `exemplar stream cut short: received ${this.rows} of the ${this.expectedRows} rows announced`,
      );
    }
    return this.fragments;
  }
}

/** The row count the schema announces; throws SchemaMismatch naming the first difference. */
function checkSchema(schema: Schema, dim: number): number {
  const format = schema.metadata.get(FORMAT_KEY);
  if (format === undefined) {
    throw new SchemaMismatch(`not an admove exemplar stream: schema metadata has no ${FORMAT_KEY}`);
  }
  if (format !== FORMAT_VERSION) {
    throw new SchemaMismatch(`exemplar stream format ${FORMAT_KEY}=${format}, expected ${FORMAT_VERSION}`);
  }
  const expected = exemplarSchema(dim).fields;
  const names = schema.fields.map((f) => f.name).join(', ');
  if (schema.fields.length !== expected.length) {
    throw new SchemaMismatch(
      `exemplar stream has fields (${names}), expected (id, label, features, processed)`,
    );
  }
  expected.forEach((field, i) => {
    const got = schema.fields[i];
    if (got.name !== field.name) {
      throw new SchemaMismatch(`exemplar stream field ${i} is '${got.name}', expected '${field.name}'`);
    }
    if (!sameType(got.type, field.type)) {
      throw new SchemaMismatch(`exemplar stream field '${got.name}' is ${got.type}, expected ${field.type}`);
    }
  });
  return announcedRows(schema);
}

/**
 * The types this format uses, compared by what they mean: a decoded schema holds generic
 * `Int`/`Float` types, never `Int32`/`Float32` instances, so `instanceof` would not do.
 */
function sameType(got: DataType, want: DataType): boolean {
  if (DataType.isInt(want)) {
    return DataType.isInt(got) && got.bitWidth === want.bitWidth && got.isSigned === want.isSigned;
  }
  if (DataType.isFloat(want)) return DataType.isFloat(got) && got.precision === want.precision;
  if (DataType.isFixedSizeList(want)) {
    return (
      DataType.isFixedSizeList(got) &&
      got.listSize === want.listSize &&
      sameType(got.children[0].type, want.children[0].type)
    );
  }
  return false;
}

function announcedRows(schema: Schema): number {
  const text = schema.metadata.get(ROWS_KEY);
  const rows = Number(text);
  if (text === undefined || !Number.isSafeInteger(rows) || rows < 0) {
    throw new SchemaMismatch(`exemplar stream schema metadata ${ROWS_KEY} is ${text ?? 'missing'}`);
  }
  return rows;
}

/** Exemplars have no nulls: a null would be read as whatever bytes sit in its slot. */
function refuseNulls(batch: RecordBatch): void {
  for (const [i, column] of batch.data.children.entries()) {
    const nulls = column.nullCount + (column.children[0]?.nullCount ?? 0);
    if (nulls > 0) {
      throw new SchemaMismatch(`exemplar stream column '${batch.schema.fields[i].name}' has ${nulls} nulls`);
    }
  }
}

/** Arrow reports a short read with a plain Error; name it for what it is. */
function asStreamError(error: unknown): unknown {
  if (error instanceof Error && /^Expected to read \d+ (metadata )?bytes/.test(error.message)) {
    return new TruncatedStream(`exemplar stream cut short: ${error.message}`, { cause: error });
  }
  return error;
}

/** A stream writer that already holds the whole stream: schema, batches, end-of-stream marker. */
function finishedWriter(
  fragments: readonly ExemplarColumns[],
  dim: number,
  options: EncodeOptions,
): RecordBatchStreamWriter {
  requireLittleEndian();
  for (const f of fragments) {
    if (f.dim !== dim) throw new RangeError(`a fragment of dim ${f.dim} in a stream of dim ${dim}`);
  }
  const rows = fragments.reduce((n, f) => n + f.count, 0);
  const writer = new RecordBatchStreamWriter();
  // `reset` with a schema writes the schema message now, so an empty stream is still a valid stream.
  writer.reset(undefined, exemplarStreamSchema(dim, rows));
  const maxRows = batchRows(dim, options);
  for (const f of fragments) {
    for (let start = 0; start < f.count; start += maxRows) {
      writer.write(toRecordBatch(viewRows(f, start, Math.min(f.count, start + maxRows))));
    }
  }
  writer.close(); // writes the end-of-stream marker
  return writer;
}

function batchRows(dim: number, options: EncodeOptions): number {
  const rowBytes = exemplarBytes(dim);
  const byBytes = Math.max(1, Math.floor(MAX_BATCH_BYTES / rowBytes));
  const rows = options.maxBatchRows ?? Math.min(MAX_BATCH_ROWS, byBytes);
  if (!Number.isSafeInteger(rows) || rows < 1) throw new RangeError(`maxBatchRows must be ≥ 1, not ${rows}`);
  return rows;
}

async function writeChunk(out: Writable, chunk: Uint8Array): Promise<void> {
  refuseClosed(out);
  if (!out.write(chunk)) await drained(out);
}

function writeLastChunk(out: Writable, chunk: Uint8Array): Promise<void> {
  refuseClosed(out);
  return new Promise((resolve, reject) => {
    out.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

function refuseClosed(out: Writable): void {
  if (out.destroyed || out.writableEnded) {
    throw new TruncatedStream('the connection closed before the exemplar stream was written');
  }
}

function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      out.off('drain', onDrain).off('error', onError).off('close', onClose);
      error ? reject(error) : resolve();
    };
    const onDrain = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () =>
      settle(new TruncatedStream('the connection closed before the exemplar stream was written'));
    out.on('drain', onDrain).on('error', onError).on('close', onClose);
  });
}

function requireLittleEndian(): void {
  if (endianness() !== 'LE') {
    throw new Error('admove exemplar streams need a little-endian host (arrow-js does not byte-swap)');
  }
}
