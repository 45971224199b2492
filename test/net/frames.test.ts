import { randomFillSync } from 'node:crypto';
import { createServer, connect as rawConnect, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Frame,
  FramedConnection,
  FrameError,
  MAX_DATA_FRAME,
  ownsItsBuffer,
} from '../../framework/net/frames.ts';
import { MessageChannel } from '../../framework/net/message-channel.ts';
import { READ_BUFFER_BYTES, ReusedReads } from '../../framework/net/reused-reads.ts';
import { connect, type Listener, listen } from '../../framework/net/secure-socket.ts';
import { until as waitUntil } from '../fixtures/until.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function header(kind: number, length: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes[0] = kind;
  bytes.writeUInt32BE(length, 1);
  return bytes;
}

function jsonFrame(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value));
  return Buffer.concat([header(0x4a, payload.length), payload]);
}

function bytesFrame(payload: Uint8Array): Buffer {
  return Buffer.concat([header(0x42, payload.length), payload]);
}

/** A framed server end on 127.0.0.1 and the raw client socket that talks to it. */
async function rawPair(
  stallMs?: number,
): Promise<{ server: FramedConnection; client: Socket; chunks: () => number }> {
  let serverSocket: Socket | null = null;
  const server: Server = createServer((socket) => {
    serverSocket = socket;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const client = rawConnect({ host: '127.0.0.1', port: address.port, noDelay: true });
  await new Promise<void>((resolve) => client.once('connect', resolve));
  while (serverSocket === null) await sleep(1);
  const socket: Socket = serverSocket;
  let chunkCount = 0;
  socket.on('data', () => chunkCount++);
  const framed = new FramedConnection(socket, { stallMs });
  cleanups.push(() => {
    client.destroy();
    socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server: framed, client, chunks: () => chunkCount };
}

/** Two framed ends over a plain loopback listener. */
async function framedPair(stallMs?: number): Promise<{ server: FramedConnection; client: FramedConnection }> {
  let accepted: FramedConnection | null = null;
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    stallMs,
    onConnection: (conn) => {
      accepted = conn;
    },
  });
  const client = await connect(listener.address, { stallMs });
  while (accepted === null) await sleep(1);
  cleanups.push(() => {
    client.destroy();
    return listener.close();
  });
  return { server: accepted, client };
}

function collect(conn: FramedConnection): Frame[] {
  const frames: Frame[] = [];
  conn.onFrame((frame) => frames.push(frame));
  return frames;
}

function closeReason(conn: FramedConnection): Promise<Error | null> {
  return new Promise((resolve) => conn.onClose(resolve));
}

const until = (condition: () => boolean, timeoutMs = 5000) => waitUntil(condition, timeoutMs, 2);

describe('FramedConnection', () => {
  it('round-trips JSON and bytes frames both ways, in order', async () => {
    const { server, client } = await framedPair();
    const atServer = collect(server);
    const atClient = collect(client);
    await client.sendJson({ hello: 'world', n: 3 });
    await client.sendBytes(new Uint8Array([1, 2, 3]));
    await client.sendJson('ü€ unicode');
    await server.sendBytes(new Uint8Array([9, 8]));
    await server.sendJson([1, null]);
    await until(() => atServer.length === 3 && atClient.length === 2);
    expect(atServer).toEqual([
      { kind: 'json', value: { hello: 'world', n: 3 } },
      { kind: 'bytes', bytes: new Uint8Array([1, 2, 3]) },
      { kind: 'json', value: 'ü€ unicode' },
    ]);
    expect(atClient).toEqual([
      { kind: 'bytes', bytes: new Uint8Array([9, 8]) },
      { kind: 'json', value: [1, null] },
    ]);
  });

  it('parses many frames arriving in one write, including empty payloads', async () => {
    const { server, client } = await rawPair();
    const frames = collect(server);
    const parts: Buffer[] = [];
    for (let i = 0; i < 200; i++)
      parts.push(i % 2 === 0 ? jsonFrame({ i }) : bytesFrame(new Uint8Array([i & 0xff])));
    parts.push(bytesFrame(new Uint8Array(0)));
    client.write(Buffer.concat(parts));
    await until(() => frames.length === 201);
    expect(frames[0]).toEqual({ kind: 'json', value: { i: 0 } });
    expect(frames[1]).toEqual({ kind: 'bytes', bytes: new Uint8Array([1]) });
    expect(frames[198]).toEqual({ kind: 'json', value: { i: 198 } });
    expect(frames[200]).toEqual({ kind: 'bytes', bytes: new Uint8Array(0) });
  });

  it('assembles a frame written one byte at a time', async () => {
    const { server, client, chunks } = await rawPair();
    const frames = collect(server);
    const payload = new Uint8Array(40).map((_, i) => i * 3);
    const wire = Buffer.concat([bytesFrame(payload), jsonFrame({ after: true })]);
    for (const byte of wire) {
      client.write(Buffer.from([byte]));
      await sleep(1);
    }
    await until(() => frames.length === 2);
    // The test means something only if the bytes really arrived in many pieces.
    expect(chunks()).toBeGreaterThan(20);
    expect(frames).toEqual([
      { kind: 'bytes', bytes: payload },
      { kind: 'json', value: { after: true } },
    ]);
  });

  it('sends a multi-part sendBytes as one frame with the parts concatenated', async () => {
    const { server, client } = await framedPair();
    const frames = collect(server);
    const parts = [
      new Uint8Array([1, 2]),
      new Uint8Array(0),
      new Uint8Array(70_000).fill(7),
      new Uint8Array([3]),
    ];
    await client.sendBytes(parts);
    await client.sendJson('next');
    await until(() => frames.length === 2);
    const first = frames[0];
    if (first.kind !== 'bytes') throw new Error('expected a bytes frame');
    expect(first.bytes.length).toBe(70_003);
    expect(Array.from(first.bytes.subarray(0, 3))).toEqual([1, 2, 7]);
    expect(first.bytes[70_001]).toBe(7);
    expect(first.bytes[70_002]).toBe(3);
    expect(frames[1]).toEqual({ kind: 'json', value: 'next' });
  });

  it('round-trips a 64 MiB frame', async () => {
    const { server, client } = await framedPair();
    const frames = collect(server);
    const payload = new Uint8Array(MAX_DATA_FRAME);
    randomFillSync(payload);
    await client.sendBytes([payload.subarray(0, 1000), payload.subarray(1000)]);
    await until(() => frames.length === 1, 15_000);
    const frame = frames[0];
    if (frame.kind !== 'bytes') throw new Error('expected a bytes frame');
    expect(frame.bytes.length).toBe(MAX_DATA_FRAME);
    for (const at of [0, 999, 1000, 12_345_678, MAX_DATA_FRAME - 1])
      expect(frame.bytes[at]).toBe(payload[at]);
  });

  it('refuses to send a frame over the limit', async () => {
    const { client } = await framedPair();
    await expect(client.sendBytes(new Uint8Array(MAX_DATA_FRAME + 1))).rejects.toThrow(
      /exceeds the 64 MiB limit/,
    );
    await expect(client.sendJson('x'.repeat(1 << 20))).rejects.toThrow(/exceeds the 1 MiB limit/);
  });

  it('buffers frames that arrive before onFrame is set', async () => {
    const { server, client } = await rawPair();
    client.write(Buffer.concat([jsonFrame(1), jsonFrame(2)]));
    await sleep(50);
    const frames = collect(server);
    expect(frames).toEqual([
      { kind: 'json', value: 1 },
      { kind: 'json', value: 2 },
    ]);
  });

  it('drops a connection whose control frame is not JSON', async () => {
    const { server, client } = await rawPair();
    collect(server);
    const reason = closeReason(server);
    client.write(Buffer.concat([header(0x4a, 3), Buffer.from('{x}')]));
    const error = await reason;
    expect(error).toBeInstanceOf(FrameError);
    expect(error?.message).toBe('bad JSON in a control frame');
  });

  it('names the first byte of something that is not a frame', async () => {
    const { server, client } = await rawPair();
    const reason = closeReason(server);
    client.write('GET / HTTP/1.1\r\n\r\n');
    const error = await reason;
    expect(error).toBeInstanceOf(FrameError);
    expect(error?.message).toBe('not an admove frame (first byte 0x47)');
  });

  it('a frame handler that throws closes the connection with what it threw', async () => {
    const { server, client } = await rawPair();
    server.onFrame(() => {
      throw new Error('handler bug');
    });
    const reason = closeReason(server);
    client.write(jsonFrame(1));
    expect((await reason)?.message).toBe('handler bug');
  });

  it('reports a clean close as null on both sides, and refuses sends afterwards', async () => {
    const { server, client } = await framedPair();
    const atServer = closeReason(server);
    const atClient = closeReason(client);
    client.close();
    expect(client.closed).toBe(true);
    expect(await atServer).toBeNull();
    expect(await atClient).toBeNull();
    await expect(server.sendJson(1)).rejects.toThrow(/closed/);
  });

  it('a peer hanging up in the middle of a frame is a FrameError', async () => {
    const { server, client } = await rawPair();
    collect(server);
    const reason = closeReason(server);
    client.end(header(0x42, 100));
    const error = await reason;
    expect(error).toBeInstanceOf(FrameError);
    expect(error?.message).toMatch(/in the middle of a frame/);
  });

  it('drops a peer that sends half a frame and goes silent', async () => {
    const { server, client } = await rawPair(300);
    collect(server);
    const reason = closeReason(server);
    const started = performance.now();
    client.write(Buffer.concat([header(0x42, 1000), Buffer.alloc(400)]));
    const error = await reason;
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(FrameError);
    expect(error?.message).toBe('peer stalled 0.3 s in the middle of a frame');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
  });

  it('keeps a peer that trickles a frame more often than stallMs', async () => {
    const { server, client } = await rawPair(300);
    const frames = collect(server);
    const wire = bytesFrame(new Uint8Array(6).fill(5));
    for (const byte of wire) {
      client.write(Buffer.from([byte]));
      await sleep(100);
    }
    await until(() => frames.length === 1);
    expect(server.closed).toBe(false);
  });

  it('does not drop a connection that idles between frames', async () => {
    const { server, client } = await framedPair(300);
    const frames = collect(server);
    let closed = false;
    server.onClose(() => {
      closed = true;
    });
    await client.sendJson('before');
    await sleep(1000);
    expect(closed).toBe(false);
    await client.sendJson('after');
    await until(() => frames.length === 2);
    expect(frames.map((frame) => (frame.kind === 'json' ? frame.value : null))).toEqual(['before', 'after']);
  });
});

describe('a plain listener facing bad peers', () => {
  async function plainListener(stallMs?: number): Promise<{
    listener: Listener;
    accepted: FramedConnection[];
    reasons: (Error | null)[];
  }> {
    const accepted: FramedConnection[] = [];
    const reasons: (Error | null)[] = [];
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      stallMs,
      onConnection: (conn) => {
        accepted.push(conn);
        conn.onFrame((frame) => {
          if (frame.kind === 'json') void conn.sendJson({ echo: frame.value }).catch(() => {});
        });
        conn.onClose((reason) => reasons.push(reason));
      },
    });
    cleanups.push(() => listener.close());
    return { listener, accepted, reasons };
  }

  async function echoes(listener: Listener): Promise<unknown> {
    const client = await connect(listener.address);
    const reply = new Promise<unknown>((resolve) =>
      client.onFrame((frame) => resolve(frame.kind === 'json' ? frame.value : frame.bytes)),
    );
    await client.sendJson('ping');
    const value = await reply;
    client.close();
    return value;
  }

  async function rawClient(listener: Listener): Promise<Socket> {
    const socket = rawConnect({ host: '127.0.0.1', port: listener.address.port });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    return socket;
  }

  it('drops a connection announcing an oversized frame and serves the next one', async () => {
    const { listener, reasons } = await plainListener();
    const bad = await rawClient(listener);
    bad.write(header(0x42, 80_000_000));
    await until(() => reasons.length === 1);
    expect(reasons[0]).toBeInstanceOf(FrameError);
    expect(reasons[0]?.message).toBe('frame of 80000000 bytes exceeds the 64 MiB limit for data frames');
    expect(await echoes(listener)).toEqual({ echo: 'ping' });
  });

  it('drops a connection sending 1 MiB of garbage and serves a good client', async () => {
    const { listener, reasons } = await plainListener(300);
    const bad = await rawClient(listener);
    const garbage = randomFillSync(Buffer.alloc(1 << 20));
    bad.write(garbage);
    await until(() => reasons.length === 1);
    // Random bytes nearly always fail on the kind byte or the length; the stall catches the rest.
    expect(reasons[0]).toBeInstanceOf(FrameError);
    expect(await echoes(listener)).toEqual({ echo: 'ping' });
  });
});

describe('where binary payloads are assembled', () => {
  it('puts a payload spanning reads into the buffer the allocator gives, which it then owns', async () => {
    const { server, client } = await rawPair();
    const frames = collect(server);
    const asked: number[] = [];
    const slab = new ArrayBuffer(512 << 10); // longer than the payload, as a pool slab is
    server.setBodyAllocator((length) => {
      asked.push(length);
      return new Uint8Array(slab, 0, length);
    });
    const payload = randomFillSync(new Uint8Array(300_000));
    const frame = bytesFrame(payload);
    client.write(jsonFrame({ before: true }));
    client.write(frame.subarray(0, 1000)); // the payload cannot lie whole in one read
    await sleep(20);
    client.write(frame.subarray(1000));
    await until(() => frames.length === 2);
    const got = frames[1];
    if (got.kind !== 'bytes') throw new Error('expected a bytes frame');
    expect(asked).toEqual([300_000]); // asked for the binary payload only, not the JSON one
    expect(got.bytes.buffer).toBe(slab);
    expect(Buffer.from(got.bytes).equals(Buffer.from(payload))).toBe(true);
    expect(ownsItsBuffer(got.bytes)).toBe(true);
  });

  it('falls back to fresh memory when the allocator has nothing, and a view of a read is not owned', async () => {
    const { server, client } = await rawPair();
    const frames = collect(server);
    server.setBodyAllocator(() => null);
    const big = randomFillSync(new Uint8Array(200_000));
    const frame = bytesFrame(big);
    client.write(frame.subarray(0, 10));
    await sleep(20);
    client.write(
      Buffer.concat([
        frame.subarray(10),
        bytesFrame(new Uint8Array([1, 2, 3])),
        bytesFrame(new Uint8Array([4])),
      ]),
    );
    await until(() => frames.length === 3);
    const [a, b] = frames.map((f) => (f.kind === 'bytes' ? f.bytes : new Uint8Array(0)));
    expect(Buffer.from(a).equals(Buffer.from(big))).toBe(true);
    expect(ownsItsBuffer(a)).toBe(true); // fresh memory of its own
    expect(ownsItsBuffer(b)).toBe(false); // a view of the read it arrived in, shared with the next frame
  });
});

describe('plain sockets read into one reused buffer', () => {
  // Every read of a plain socket overwrites the one before (reused-reads.ts), so a payload
  // handed out as a view of a read would change under its owner: each must be a copy.
  it('delivers every payload intact, each in memory of its own, on the accepted and the dialled side', async () => {
    const { server, client } = await framedPair();
    const atServer = collect(server);
    const atClient = collect(client);
    const sizes = [
      1,
      7,
      100,
      4096,
      65_535,
      65_536,
      70_000,
      READ_BUFFER_BYTES - 5,
      READ_BUFFER_BYTES + 3,
      700_000,
    ];
    const sent = sizes.map((n, k) => randomFillSync(new Uint8Array(n + k)));
    for (const payload of sent) {
      void client.sendBytes(payload);
      void server.sendBytes(payload);
      void client.sendJson({ after: payload.length });
    }
    await until(() => atServer.length === 2 * sent.length && atClient.length === sent.length);
    const bytesAtServer = atServer.filter((f) => f.kind === 'bytes').map((f) => f.bytes);
    const bytesAtClient = atClient.map((f) => (f.kind === 'bytes' ? f.bytes : new Uint8Array(0)));
    for (const got of [bytesAtServer, bytesAtClient]) {
      expect(got.length).toBe(sent.length);
      got.forEach((bytes, k) => {
        expect(Buffer.from(bytes).equals(Buffer.from(sent[k]))).toBe(true);
        expect(ownsItsBuffer(bytes)).toBe(true);
      });
    }
    expect(atServer.filter((f) => f.kind === 'json').map((f) => (f as { value: unknown }).value)).toEqual(
      sent.map((p) => ({ after: p.length })),
    );
  });

  it('reads the rest of a large payload straight into its storage: intact, each in its own buffer, frames around it untouched', async () => {
    // A dialled socket whose reads land where the framed connection asks (reused-reads.ts).
    const server = createServer((socket) => {
      socket.on('data', () => {}); // the test only reads on the dialled side
      for (const payload of sent) {
        socket.write(bytesFrame(payload));
        socket.write(jsonFrame({ after: payload.length }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    const sizes = [3 << 20, 70_000, (1 << 20) + 16_000, 1, READ_BUFFER_BYTES * 3 + 1, 5_000_000];
    const sent = sizes.map((n) => randomFillSync(new Uint8Array(n)));
    const reads = new ReusedReads();
    const socket = rawConnect({ host: '127.0.0.1', port: address.port, onread: reads.onread } as never);
    const conn = new FramedConnection(socket, { reusedReads: reads });
    cleanups.push(() => {
      socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const got = collect(conn);
    await until(() => got.length === 2 * sent.length);
    const bytes = got.filter((f) => f.kind === 'bytes').map((f) => f.bytes);
    bytes.forEach((b, k) => {
      expect(Buffer.from(b).equals(Buffer.from(sent[k]))).toBe(true);
      expect(ownsItsBuffer(b)).toBe(true);
    });
    expect(got.filter((f) => f.kind === 'json').map((f) => (f as { value: unknown }).value)).toEqual(
      sent.map((p) => ({ after: p.length })),
    );
    // The large payloads came in place but for their start (at most one read of the shared
    // buffer, with the header) and a last rest under 64 KiB (frames.ts MIN_READ_IN_PLACE).
    const largeSizes = sizes.filter((n) => n > 1 << 20);
    const large = largeSizes.reduce((a, n) => a + n, 0);
    expect(reads.directBytes).toBeGreaterThanOrEqual(
      large - largeSizes.length * (READ_BUFFER_BYTES + (64 << 10)),
    );
    expect(reads.directBytes).toBeLessThanOrEqual(sizes.reduce((a, n) => a + n, 0));
  });
});

describe('MessageChannel body placement', () => {
  it('lets the header choose where that message’s bodies go, and only that message’s', async () => {
    const { server, client } = await rawPair();
    const channel = new MessageChannel(server);
    const slabs: ArrayBuffer[] = [];
    const allocate = (length: number) => {
      const slab = new ArrayBuffer(length + 100);
      slabs.push(slab);
      return new Uint8Array(slab, 0, length);
    };
    channel.placeBodies((header) => (header.type === 'rows' ? allocate : null));
    const body = randomFillSync(new Uint8Array(150_000));
    const wire = Buffer.concat([
      jsonFrame({ type: 'rows', bodies: 1 }),
      bytesFrame(body),
      jsonFrame({ type: 'other', bodies: 1 }),
      bytesFrame(body),
    ]);
    for (let off = 0; off < wire.length; off += 4096) {
      client.write(wire.subarray(off, off + 4096)); // many reads: every payload spans them
      await sleep(0);
    }
    const rows = await channel.next();
    const other = await channel.next();
    expect(slabs.length).toBe(1);
    expect(rows.bodies[0].buffer).toBe(slabs[0]);
    expect(other.bodies[0].buffer).not.toBe(slabs[0]);
    expect(Buffer.from(other.bodies[0]).equals(Buffer.from(body))).toBe(true);
  });
});

describe('a message on a plain connection', () => {
  it('goes out as one write: its header frame and every body frame in one writev, in order', async () => {
    const writes: Buffer[][] = [];
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        writes.push([chunk]);
        done();
      },
      writev(chunks, done) {
        writes.push(chunks.map((c) => c.chunk as Buffer));
        done();
      },
    });
    const channel = new MessageChannel(new FramedConnection(socket));
    const first = randomFillSync(new Uint8Array(70_000));
    const pieces = [randomFillSync(new Uint8Array(10)), randomFillSync(new Uint8Array(3))];
    await channel.send({ type: 'rows' }, [first, pieces]);
    expect(writes.length).toBe(1);
    const wire = Buffer.concat(writes[0]);
    expect(
      wire.equals(
        Buffer.concat([
          jsonFrame({ type: 'rows', bodies: 2 }),
          bytesFrame(first),
          bytesFrame(Buffer.concat(pieces)),
        ]),
      ),
    ).toBe(true);
  });
});
