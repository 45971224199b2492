import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  Field,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Table,
  tableToIPC,
} from 'apache-arrow';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../framework/errors.ts';
import { exemplarSchema, toRecordBatch } from '../../framework/exemplars/batch.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import {
  decodeExemplarStreams,
  decodeExemplars,
  encodeExemplars,
  exemplarStreamSchema,
  FORMAT_KEY,
  MAX_BATCH_BYTES,
  MAX_BATCH_ROWS,
  ROWS_KEY,
  readExemplarStreams,
  SchemaMismatch,
  TruncatedStream,
  writeExemplars,
} from '../../framework/exemplars/ipc.ts';
import { seededColumns } from '../fixtures/ipc-columns.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const senderFixture = fileURLToPath(new URL('../fixtures/ipc-sender.ts', import.meta.url));

/** All rows of `fragments` in one set of columns, features as raw bits (NaN payloads compare exactly). */
function rowsOf(fragments: readonly ExemplarColumns[]) {
  const join = <T extends Int32Array | Uint8Array | Uint32Array>(parts: T[], make: (n: number) => T): T => {
    const out = make(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const bits = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);
  return {
    ids: join(
      fragments.map((f) => f.ids),
      (n) => new Int32Array(n),
    ),
    labels: join(
      fragments.map((f) => f.labels),
      (n) => new Int32Array(n),
    ),
    featureBits: join(
      fragments.map((f) => bits(f.features)),
      (n) => new Uint32Array(n),
    ),
    processed: join(
      fragments.map((f) => f.processed),
      (n) => new Uint8Array(n),
    ),
  };
}

/**
 * Same rows, same bits. Compared by a plain loop reporting the first difference: vitest's
 * deep equality walks a large typed array element by element through generic code (a minute
 * for a few million elements on this machine).
 */
function expectSameRows(got: readonly ExemplarColumns[], want: readonly ExemplarColumns[]): void {
  const a = rowsOf(got);
  const b = rowsOf(want);
  for (const column of ['ids', 'labels', 'featureBits', 'processed'] as const) {
    expect(a[column].length, column).toBe(b[column].length);
    expect(firstDifference(a[column], b[column]), column).toBe(-1);
  }
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

/** The error `promise` rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

/** Rejects when `promise` has not settled within `ms`: a hang becomes a failure with a name. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An async byte source that yields what is pushed and ends only when told: a connection kept open. */
function openSource(): { source: AsyncIterable<Uint8Array>; push(bytes: Uint8Array): void; end(): void } {
  const queued: (Uint8Array | null)[] = [];
  let wake: (() => void) | null = null;
  const add = (item: Uint8Array | null) => {
    queued.push(item);
    wake?.();
  };
  async function* source(): AsyncGenerator<Uint8Array> {
    for (;;) {
      while (queued.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const item = queued.shift()!;
      if (item === null) return;
      yield item;
    }
  }
  return { source: source(), push: add, end: () => add(null) };
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A server on 127.0.0.1 (closed after the test) and the first connection it accepts. */
async function acceptOne(): Promise<{ port: number; accepted: Promise<Socket> }> {
  const server = createServer();
  servers.push(server);
  const accepted = once(server, 'connection').then(([socket]) => socket as Socket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, accepted };
}

/** Two ends of one real TCP connection on 127.0.0.1 in this process. */
async function socketPair(): Promise<{ sending: Socket; receiving: Socket }> {
  const { port, accepted } = await acceptOne();
  const receiving = connect(port, '127.0.0.1');
  await once(receiving, 'connect');
  return { sending: await accepted, receiving };
}

describe('exemplarStreamSchema', () => {
  it('has the four exemplar fields and names the format and the row count', () => {
    const schema = exemplarStreamSchema(7, 12);
    expect(schema.fields.map((f) => `${f.name}: ${f.type}`)).toEqual([
      'id: Int32',
      'label: Int32',
      'features: FixedSizeList[7]<Float32>',
      'processed: Uint8',
    ]);
    expect(schema.metadata.get(FORMAT_KEY)).toBe('1');
    expect(schema.metadata.get(ROWS_KEY)).toBe('12');
  });
});

describe('encode and decode bytes', () => {
  const int32 = (length: number) => fc.int32Array({ minLength: length, maxLength: length });
  const fragment = (dim: number) =>
    fc.nat({ max: 30 }).chain((count) =>
      fc.record({
        count: fc.constant(count),
        dim: fc.constant(dim),
        ids: int32(count),
        labels: int32(count),
        features: fc
          .uint32Array({ minLength: count * dim, maxLength: count * dim })
          .map((bits) => new Float32Array(bits.buffer, bits.byteOffset, bits.length)),
        processed: fc.uint8Array({ min: 0, max: 1, minLength: count, maxLength: count }),
      }),
    );

  it('round-trips every id, label, feature bit and processed flag of random fragments', () => {
    const move = fc.integer({ min: 1, max: 6 }).chain((dim) =>
      fc.record({
        dim: fc.constant(dim),
        fragments: fc.array(fragment(dim), { maxLength: 5 }),
        maxBatchRows: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
      }),
    );
    fc.assert(
      fc.property(move, ({ dim, fragments, maxBatchRows }) => {
        const decoded = decodeExemplars(encodeExemplars(fragments, dim, { maxBatchRows }), dim);
        expectSameRows(decoded, fragments);
        for (const f of decoded) {
          expect(f.dim).toBe(dim);
          expect(f.count).toBeLessThanOrEqual(maxBatchRows ?? MAX_BATCH_ROWS);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('decodes features in place: the Float32Array is a view of the received bytes', () => {
    const bytes = encodeExemplars([seededColumns(100, 5, 1)], 5);
    const [cols] = decodeExemplars(bytes, 5);
    for (const column of [cols.features, cols.ids, cols.labels, cols.processed]) {
      expect(column.buffer).toBe(bytes.buffer);
    }
    // The view is live: change the bytes, the decoded feature changes (no copy in between).
    const at = (cols.features.byteOffset - bytes.byteOffset) / 4;
    new Float32Array(bytes.buffer, bytes.byteOffset + at * 4, 1)[0] = 42.5;
    expect(cols.features[0]).toBe(42.5);
  });

  it('encodes empty moves as valid streams: no fragments, or fragments of no rows', () => {
    for (const fragments of [[], [seededColumns(0, 3, 1), seededColumns(0, 3, 2)]]) {
      const bytes = encodeExemplars(fragments, 3);
      expect(bytes.byteLength).toBeGreaterThan(0);
      expect(decodeExemplars(bytes, 3)).toEqual([]);
    }
  });

  it('splits a large move into record batches of at most 16k rows and about 4 MiB', () => {
    const narrow = seededColumns(100_000, 2, 3);
    const narrowBatches = decodeExemplars(encodeExemplars([narrow], 2), 2);
    expect(narrowBatches.map((f) => f.count)).toEqual([...Array(6).fill(MAX_BATCH_ROWS), 1_696]);
    expectSameRows(narrowBatches, [narrow]);

    const wide = seededColumns(3_000, 784, 4); // MNIST-sized rows: bytes bind before rows do
    const wideBatches = decodeExemplars(encodeExemplars([wide], 784), 784);
    expect(wideBatches.length).toBe(3);
    for (const f of wideBatches) expect(f.features.byteLength).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expectSameRows(wideBatches, [wide]);
  });

  it('decodes several streams back to back, each on its own, an empty one among them', () => {
    const a = seededColumns(10, 3, 5);
    const c = seededColumns(40, 3, 6, 1000);
    const parts = [
      encodeExemplars([a], 3),
      encodeExemplars([], 3),
      encodeExemplars([c], 3, { maxBatchRows: 16 }),
    ];
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    const streams = decodeExemplarStreams(bytes, 3);
    expect(streams.map((s) => s.length)).toEqual([1, 0, 3]);
    expectSameRows(streams[0], [a]);
    expectSameRows(streams[2], [c]);
  });

  it('refuses fragments of another dim when encoding', () => {
    expect(() => encodeExemplars([seededColumns(2, 3, 1)], 4)).toThrow(RangeError);
  });
});

describe('refusing other streams', () => {
  /** The message of the SchemaMismatch decoding `bytes` at dim 4 throws; it is one line. */
  function refusal(bytes: Uint8Array): string {
    const error = thrown(() => decodeExemplars(bytes, 4));
    expect(error).toBeInstanceOf(SchemaMismatch);
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).not.toContain('\n');
    return error.message;
  }

  /** A one-batch stream with `schema` and the exemplar columns' data (so only the schema differs). */
  function streamWith(schema: Schema, cols: ExemplarColumns): Uint8Array {
    const writer = new RecordBatchStreamWriter();
    writer.reset(undefined, schema);
    writer.write(new RecordBatch(schema, toRecordBatch(cols).data));
    writer.close();
    return writer.toUint8Array(true);
  }

  const metadata = (rows: number) =>
    new Map([
      [FORMAT_KEY, '1'],
      [ROWS_KEY, String(rows)],
    ]);

  it('names the other dim', () => {
    expect(refusal(encodeExemplars([seededColumns(3, 3, 1)], 3))).toBe(
      "exemplar stream field 'features' is FixedSizeList[3]<Float32>, expected FixedSizeList[4]<Float32>",
    );
  });

  it('names a field of another name or type', () => {
    const cols = seededColumns(3, 4, 1);
    const [id, label, features, processed] = exemplarSchema(4).fields;
    const renamed = new Schema(
      [new Field('ident', new Int32(), false), label, features, processed],
      metadata(3),
    );
    expect(refusal(streamWith(renamed, cols))).toBe("exemplar stream field 0 is 'ident', expected 'id'");
    // A float label column over the same 4-byte values: same bytes, another meaning.
    const floatLabel = new Schema(
      [id, new Field('label', new Float32(), false), features, processed],
      metadata(3),
    );
    expect(refusal(streamWith(floatLabel, cols))).toBe(
      "exemplar stream field 'label' is Float32, expected Int32",
    );
  });

  it('names a stream without the format metadata or the row count', () => {
    const plainArrow = tableToIPC(new Table(toRecordBatch(seededColumns(3, 4, 1))), 'stream');
    expect(refusal(plainArrow)).toBe(`not an admove exemplar stream: schema metadata has no ${FORMAT_KEY}`);
    const noRows = new Schema(exemplarSchema(4).fields, new Map([[FORMAT_KEY, '1']]));
    expect(refusal(streamWith(noRows, seededColumns(3, 4, 1)))).toBe(
      `exemplar stream schema metadata ${ROWS_KEY} is missing`,
    );
  });

  it('names a stream with other or missing fields', () => {
    const [id, label] = exemplarSchema(4).fields;
    const schema = new Schema([id, label], metadata(2));
    const data = makeData({
      type: new Struct(schema.fields),
      length: 2,
      nullCount: 0,
      children: [
        makeData({ type: new Int32(), length: 2, data: Int32Array.of(1, 2) }),
        makeData({ type: new Int32(), length: 2, data: Int32Array.of(3, 4) }),
      ],
    });
    const writer = new RecordBatchStreamWriter();
    writer.reset(undefined, schema);
    writer.write(new RecordBatch(schema, data));
    writer.close();
    expect(refusal(writer.toUint8Array(true))).toBe(
      'exemplar stream has fields (id, label), expected (id, label, features, processed)',
    );
  });

  it('refuses a stream with more rows than it announced', () => {
    const cols = seededColumns(3, 4, 1);
    expect(refusal(streamWith(exemplarStreamSchema(4, 2), cols))).toBe(
      'exemplar stream sends more than the 2 rows it announced',
    );
  });

  it('refuses a column with nulls', () => {
    const cols = seededColumns(8, 4, 1);
    const schema = exemplarStreamSchema(4, 8);
    const data = toRecordBatch(cols).data;
    const withNull = makeData({
      type: new Int32(),
      length: 8,
      data: cols.labels,
      nullBitmap: Uint8Array.of(0b1111_0111),
    });
    const children = [data.children[0], withNull, data.children[2], data.children[3]];
    const batch = new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: 8, nullCount: 0, children }),
    );
    const writer = new RecordBatchStreamWriter();
    writer.reset(undefined, schema);
    writer.write(batch);
    writer.close();
    expect(refusal(writer.toUint8Array(true))).toBe("exemplar stream column 'label' has 1 nulls");
  });
});

describe('truncated streams', () => {
  it('is an error wherever the bytes stop before the end-of-stream marker', () => {
    const fragments = [seededColumns(5, 3, 1), seededColumns(6, 3, 2)];
    const bytes = encodeExemplars(fragments, 3, { maxBatchRows: 4 });
    const endOfStreamMarker = 8;
    for (let cut = 0; cut < bytes.byteLength - endOfStreamMarker; cut++) {
      const error = thrown(() => decodeExemplars(bytes.subarray(0, cut), 3));
      expect(error, `cut at ${cut}`).toBeInstanceOf(TruncatedStream);
    }
    // Without its marker, a stream whose rows all arrived loses nothing: accepted.
    expectSameRows(decodeExemplars(bytes.subarray(0, bytes.byteLength - endOfStreamMarker), 3), fragments);
  });

  it('is an error, not a hang, when the connection closes mid-stream', async () => {
    const bytes = encodeExemplars([seededColumns(2_000, 16, 1)], 16, { maxBatchRows: 500 });
    for (const cut of [100, bytes.byteLength >> 1, bytes.byteLength - 9]) {
      const { sending, receiving } = await socketPair();
      sending.end(bytes.subarray(0, cut));
      const error = await rejection(collect(readExemplarStreams(receiving, 16)));
      expect(error, `cut at ${cut}`).toBeInstanceOf(TruncatedStream);
      expect(receiving.destroyed).toBe(true);
    }
  });

  it('rejects the writer when the connection is gone', async () => {
    const { sending, receiving } = await socketPair();
    receiving.destroy();
    sending.destroy();
    const error = await rejection(writeExemplars(sending, [seededColumns(10, 3, 1)], 3));
    expect(error).toBeInstanceOf(TruncatedStream);
  });
});

describe('reading from a connection that stays open', () => {
  // apache-arrow 21's own async readers wait for more input when a read asks for exactly the
  // bytes they hold: on an async iterable, a whole stream sat undelivered until the source ended.
  it('delivers each stream as soon as its last byte is in', async () => {
    const { source, push, end } = openSource();
    const streams = readExemplarStreams(source, 3)[Symbol.asyncIterator]();
    for (const [seed, count] of [
      [1, 10],
      [2, 0],
      [3, 5_000],
    ]) {
      const cols = seededColumns(count, 3, seed);
      push(encodeExemplars([cols], 3, { maxBatchRows: 1_000 }));
      const next = await within(streams.next(), 2_000, `stream of ${count} rows`);
      expectSameRows(next.value as ExemplarColumns[], [cols]);
    }
    end();
    expect((await streams.next()).done).toBe(true);
  });

  it('delivers a stream on a socket that is not ended', async () => {
    const { sending, receiving } = await socketPair();
    const streams = readExemplarStreams(receiving, 8)[Symbol.asyncIterator]();
    const cols = seededColumns(3_000, 8, 1);
    await writeExemplars(sending, [cols], 8);
    const next = await within(streams.next(), 2_000, 'a stream on an open socket');
    expectSameRows(next.value as ExemplarColumns[], [cols]);
    sending.end();
    expect((await streams.next()).done).toBe(true);
  });

  it('refuses a stream of another dim on its schema alone, before its batches arrive', async () => {
    const { source, push } = openSource();
    const bytes = encodeExemplars([seededColumns(100, 9, 1)], 9);
    const schemaMessage = 8 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(4, true);
    push(bytes.subarray(0, schemaMessage + 16)); // the schema message and the start of the first batch
    const error = await within(rejection(collect(readExemplarStreams(source, 10))), 2_000, 'refusal');
    expect(error).toBeInstanceOf(SchemaMismatch);
  });

  it('refuses bytes that are not an Arrow IPC stream', async () => {
    const { source, push } = openSource();
    push(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: admove\r\n\r\n'));
    const error = await within(rejection(collect(readExemplarStreams(source, 10))), 2_000, 'refusal');
    expect(error).toBeInstanceOf(SchemaMismatch);
    expect(error.message).toBe(
      'not an Arrow IPC stream: a message does not start with the continuation marker',
    );
  });
});

describe('over TCP', () => {
  it('carries streams back to back from a child process, each whole and in order', async () => {
    const dim = 12;
    const plan = [
      { count: 3_000, seed: 11, firstId: 0 },
      { count: 0, seed: 12, firstId: 0 },
      { count: 1, seed: 13, firstId: 5_000 },
      { count: 40_000, seed: 14, firstId: 10_000 },
    ];
    const { port, accepted } = await acceptOne();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', senderFixture, JSON.stringify({ port, dim, streams: plan })],
      { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const exited = once(child, 'exit');
    const streams = await collect(readExemplarStreams(await accepted, dim));
    expect((await exited)[0]).toBe(0);
    expect(streams.length).toBe(plan.length);
    for (const [i, s] of plan.entries())
      expectSameRows(streams[i], [seededColumns(s.count, dim, s.seed, s.firstId)]);
    expect(streams[3].length).toBeGreaterThan(2); // 40k rows arrived as several batches
  });

  it('carries streams between two sockets in one process, features still views', async () => {
    const { sending, receiving } = await socketPair();
    const moves = [[seededColumns(700, 784, 1)], [], [seededColumns(5, 784, 2), seededColumns(9, 784, 3)]];
    const received = collect(readExemplarStreams(receiving, 784));
    for (const move of moves) await writeExemplars(sending, move, 784);
    sending.end();
    const streams = await received;
    expect(streams.length).toBe(moves.length);
    for (const [i, move] of moves.entries()) expectSameRows(streams[i], move);
    for (const f of streams.flat()) {
      // One body buffer per batch, all four columns views of it: nothing copied per column.
      for (const column of [f.ids, f.labels, f.processed]) expect(column.buffer).toBe(f.features.buffer);
      expect(f.features.byteOffset % 8).toBe(0);
    }
  });

  it('refuses a stream of another dim arriving on a socket', async () => {
    const { sending, receiving } = await socketPair();
    const received = collect(readExemplarStreams(receiving, 10));
    await writeExemplars(sending, [seededColumns(4, 9, 1)], 9);
    sending.end();
    const error = await rejection(received);
    expect(error).toBeInstanceOf(SchemaMismatch);
    expect(error.message).toBe(
      "exemplar stream field 'features' is FixedSizeList[9]<Float32>, expected FixedSizeList[10]<Float32>",
    );
  });
});
