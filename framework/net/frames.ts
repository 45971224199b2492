/**
 * Length-prefixed frames over a stream socket (plain TCP or TLS).
 *
 * Wire format of one frame: 1 byte kind (0x4A 'J': a UTF-8 JSON payload, 0x42 'B': raw
 * bytes), a 4-byte big-endian payload length, then the payload. Anything else on the wire
 * (another kind byte, a length over the limit for its kind, a JSON payload that does not
 * parse) destroys that one connection with a FrameError handed to onClose: a bad peer
 * never throws out of an event handler and never takes the process down.
 *
 * This carries data moves of hundreds of MB at loopback speed, so receiving does no
 * per-byte work beyond one copy: a payload spread over reads is copied once into a buffer
 * of its final size; one lying whole inside a read is handed out as a view of it, or, when
 * the socket reads into a reused buffer (plain TCP), copied once too. On such a socket the
 * rest of a large payload is read straight into its final buffer: no copy of ours at all.
 * Sending writes the header and the caller's parts one after the other, never concatenating
 * them (on a plain socket they are corked into one writev).
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { ReusedReads } from './reused-reads.ts';

export const MAX_CONTROL_FRAME = 1 << 20;
export const MAX_DATA_FRAME = 64 << 20;
/** A peer silent this long in the middle of a frame is dropped (between frames it may idle). */
export const STALL_MS = 10_000;

export type Frame =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array };

/**
 * Where the payload of a binary frame that spans socket reads is assembled: a buffer of
 * exactly `length` bytes at offset 0 of an ArrayBuffer nothing else uses, or null for
 * fresh memory. (An agent hands out pre-faulted slabs: receive-pool.ts.)
 */
export type BodyAllocator = (length: number) => Uint8Array | null;

/** Buffers this module assembled a frame payload in: each holds that one payload only. */
const frameStorage = new WeakSet<ArrayBufferLike>();

/**
 * True when `bytes` is a frame payload assembled in a buffer of its own (offset 0, nothing
 * else in it; the buffer may be longer than the payload): its owner may keep or transfer
 * the whole buffer without copying.
 */
export function ownsItsBuffer(bytes: Uint8Array): boolean {
  return (
    bytes.byteOffset === 0 && (bytes.byteLength === bytes.buffer.byteLength || frameStorage.has(bytes.buffer))
  );
}

/** Why a connection was dropped for what came over the wire; the message is one line. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export interface FrameOptions {
  stallMs?: number;
  /** The socket reads into one reused buffer (plain TCP: reused-reads.ts) instead of emitting 'data'. */
  reusedReads?: ReusedReads;
  maxControl?: number;
  maxData?: number;
}

const KIND_JSON = 0x4a;
const KIND_BYTES = 0x42;
const HEADER_BYTES = 5;
/** A payload's rest shorter than this is copied from the shared read buffer, not read in place. */
const MIN_READ_IN_PLACE = 64 << 10;
/** Frames up to this size are corked into one write on a TLS socket (see write()). */
const BATCH_LIMIT_TLS = 64 << 10;

function describeLimit(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes >> 20} MiB` : `${bytes} bytes`;
}

function oversized(kind: number, length: number, limit: number): FrameError {
  const which = kind === KIND_JSON ? 'control' : 'data';
  return new FrameError(
    `frame of ${length} bytes exceeds the ${describeLimit(limit)} limit for ${which} frames`,
  );
}

function notAFrame(firstByte: number): FrameError {
  const hex = `0x${firstByte.toString(16).padStart(2, '0')}`;
  // 0x16 opens a TLS handshake, 0x15 a TLS alert: the usual cause is one side having a secret.
  const hint =
    firstByte === 0x16 || firstByte === 0x15
      ? ': the peer speaks TLS; does only one side have --secret-file?'
      : '';
  return new FrameError(`not an admove frame (first byte ${hex})${hint}`);
}

/**
 * Turns received chunks into frames. Kept apart from the socket so that the state of a
 * half-read frame is in one place; `halted` lets the owner stop parsing mid-chunk when a
 * frame handler closed the connection.
 */
class FrameReader {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFilled = 0;
  private bodyKind = 0;
  /** Payload length of the frame being read; -1 while reading a header. */
  private bodyLength = -1;
  /** Set only when the payload spans chunks; null while it may still arrive whole. */
  private body: Uint8Array | null = null;
  private bodyFilled = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** Where binary payloads spanning reads go (set between frames by the connection's owner). */
  allocate: BodyAllocator | null = null;

  constructor(
    private readonly limits: { readonly maxControl: number; readonly maxData: number },
    private readonly deliver: (frame: Frame) => void,
    private readonly halted: () => boolean,
  ) {}

  /** True when some bytes of a frame arrived but not all of them. */
  get midFrame(): boolean {
    return this.headerFilled > 0 || this.bodyLength >= 0;
  }

  /**
   * Parses `chunk`, delivering every frame it completes; throws FrameError on bad input.
   * `reused`: the chunk's memory is read into again after this call, so a binary payload
   * lying whole inside it is copied out rather than handed out as a view.
   */
  push(chunk: Buffer, reused: boolean): void {
    let offset = 0;
    while (offset < chunk.length && !this.halted()) {
      if (this.bodyLength < 0) {
        offset = this.readHeader(chunk, offset);
        continue;
      }
      const available = chunk.length - offset;
      if (this.body === null) {
        if (available >= this.bodyLength) {
          let payload = new Uint8Array(chunk.buffer, chunk.byteOffset + offset, this.bodyLength);
          if (reused && this.bodyKind === KIND_BYTES) {
            const copy = this.storageFor(this.bodyLength);
            copy.set(payload);
            payload = copy;
          }
          offset += this.bodyLength;
          this.finishFrame(payload);
          continue;
        }
        this.body = this.storageFor(this.bodyLength);
      }
      const take = Math.min(available, this.bodyLength - this.bodyFilled);
      this.body.set(chunk.subarray(offset, offset + take), this.bodyFilled);
      this.bodyFilled += take;
      offset += take;
      if (this.bodyFilled === this.bodyLength) this.finishFrame(this.body);
    }
  }

  /**
   * The unfilled rest of a binary payload that spans reads, for the next read to land in
   * directly; null between payloads, for a payload that may still come whole inside one
   * read, and for a rest too small to be worth a read of its own (it is copied instead).
   */
  readTarget(): Uint8Array | null {
    if (this.body === null || this.halted()) return null;
    const rest = this.bodyLength - this.bodyFilled;
    return rest >= MIN_READ_IN_PLACE ? this.body.subarray(this.bodyFilled) : null;
  }

  /** `length` bytes were read straight into `readTarget()`'s memory. */
  filledInPlace(length: number): void {
    if (this.body === null || this.halted()) return;
    this.bodyFilled += length;
    if (this.bodyFilled === this.bodyLength) this.finishFrame(this.body);
  }

  private storageFor(length: number): Uint8Array {
    const given = this.bodyKind === KIND_BYTES ? (this.allocate?.(length) ?? null) : null;
    if (given !== null && given.byteOffset === 0 && given.byteLength === length) {
      frameStorage.add(given.buffer);
      return given;
    }
    // allocUnsafeSlow: every byte is about to be overwritten, so skip zero-filling 64 MiB.
    const storage = Buffer.allocUnsafeSlow(length);
    frameStorage.add(storage.buffer);
    return new Uint8Array(storage.buffer, storage.byteOffset, length);
  }

  private readHeader(chunk: Buffer, offset: number): number {
    if (this.headerFilled === 0 && chunk.length - offset >= HEADER_BYTES) {
      this.beginFrame(chunk[offset], chunk.readUInt32BE(offset + 1));
      return offset + HEADER_BYTES;
    }
    // Check the kind byte as soon as it arrives, so garbage fails before a length is known.
    if (this.headerFilled === 0) this.checkKind(chunk[offset]);
    const take = Math.min(HEADER_BYTES - this.headerFilled, chunk.length - offset);
    this.header.set(chunk.subarray(offset, offset + take), this.headerFilled);
    this.headerFilled += take;
    if (this.headerFilled === HEADER_BYTES) {
      this.headerFilled = 0;
      this.beginFrame(this.header[0], this.header.readUInt32BE(1));
    }
    return offset + take;
  }

  private checkKind(kind: number): void {
    if (kind !== KIND_JSON && kind !== KIND_BYTES) throw notAFrame(kind);
  }

  private beginFrame(kind: number, length: number): void {
    this.checkKind(kind);
    const limit = kind === KIND_JSON ? this.limits.maxControl : this.limits.maxData;
    if (length > limit) throw oversized(kind, length, limit);
    this.bodyKind = kind;
    this.bodyLength = length;
    // An empty payload is complete already: no further byte will come to complete it.
    if (length === 0) this.finishFrame(new Uint8Array(0));
  }

  private finishFrame(payload: Uint8Array): void {
    const kind = this.bodyKind;
    this.bodyLength = -1;
    this.body = null;
    this.bodyFilled = 0;
    if (kind === KIND_BYTES) {
      this.deliver({ kind: 'bytes', bytes: payload });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(this.decoder.decode(payload));
    } catch {
      throw new FrameError('bad JSON in a control frame');
    }
    this.deliver({ kind: 'json', value });
  }
}

function describeRemote(socket: Duplex): string {
  if (!(socket instanceof Socket) || socket.remoteAddress === undefined) return 'unknown peer';
  const host = socket.remoteAddress.includes(':') ? `[${socket.remoteAddress}]` : socket.remoteAddress;
  return `${host}:${socket.remotePort}`;
}

/**
 * One framed connection. Frames that arrive before `onFrame` is called are queued and
 * delivered, in order, synchronously inside the `onFrame` call; after that each frame is
 * delivered synchronously as it is parsed. A frame handler that throws destroys the
 * connection with what it threw (seen by onClose) rather than escaping into the socket's
 * event handler.
 */
export class FramedConnection {
  readonly remote: string;
  private readonly tls: boolean;
  private readonly reader: FrameReader;
  private readonly stallMs: number;
  private readonly maxControl: number;
  private readonly maxData: number;
  private frameHandler: ((frame: Frame) => void) | null = null;
  private readonly queued: Frame[] = [];
  private closeHandler: ((reason: FrameError | Error | null) => void) | null = null;
  private isClosed = false;
  private finished = false;
  private failure: Error | null = null;
  private drainWaiters: { resolve(): void; reject(error: Error): void }[] = [];
  private lastByteAt = 0;
  private stallTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: Duplex,
    options: FrameOptions = {},
  ) {
    this.remote = describeRemote(socket);
    this.tls = socket instanceof TLSSocket;
    this.stallMs = options.stallMs ?? STALL_MS;
    this.maxControl = options.maxControl ?? MAX_CONTROL_FRAME;
    this.maxData = options.maxData ?? MAX_DATA_FRAME;
    this.reader = new FrameReader(
      { maxControl: this.maxControl, maxData: this.maxData },
      (frame) => this.deliver(frame),
      () => this.finished || this.failure !== null,
    );
    if (options.reusedReads === undefined) socket.on('data', (chunk: Buffer) => this.receive(chunk, false));
    else
      options.reusedReads.attach((bytes) => this.receive(bytes, true), {
        target: () => this.reader.readTarget(),
        filled: (length) => this.receiveInPlace(length),
      });
    socket.on('end', () => this.peerEnded());
    socket.on('error', (error: Error) => {
      this.failure ??= error;
    });
    socket.on('close', () => this.finish());
    socket.on('drain', () => this.settleDrainWaiters(null));
  }

  /** When bytes last arrived (performance.now()), 0 before any: how a reader tells a slow peer from a quiet one. */
  get lastReadAt(): number {
    return this.lastByteAt;
  }

  /** True once either side began closing: no more sends are accepted. */
  get closed(): boolean {
    return this.isClosed;
  }

  onFrame(handler: (frame: Frame) => void): void {
    this.frameHandler = handler;
    const queued = this.queued.splice(0);
    // Frames that arrived whole are delivered even if the connection failed later on; stop
    // only if the handler itself destroys the connection.
    const failureBefore = this.failure;
    for (const frame of queued) {
      if (this.failure !== failureBefore) break;
      this.callFrameHandler(frame);
    }
  }

  /**
   * Where the next binary payloads that span socket reads are assembled (null: fresh
   * memory). Frames are parsed synchronously, so an allocator set while handling a frame
   * applies from the very next frame on.
   */
  setBodyAllocator(allocate: BodyAllocator | null): void {
    this.reader.allocate = allocate;
  }

  /** Called exactly once, when the socket has closed; null means a clean close by either side. */
  onClose(handler: (reason: FrameError | Error | null) => void): void {
    this.closeHandler = handler;
    if (this.finished) handler(this.failure);
  }

  sendJson(value: unknown): Promise<void> {
    return this.sendFrames(value, []);
  }

  /**
   * Sends one frame whose payload is `parts` concatenated. The parts are written as they
   * are, not copied, and the socket keeps referring to them until it has passed them to the
   * kernel: do not modify them after calling this.
   */
  sendBytes(parts: Uint8Array | readonly Uint8Array[]): Promise<void> {
    return this.writeFrames([], [parts]);
  }

  /**
   * A JSON frame and binary frames after it (`sendJson`, then `sendBytes` for each body),
   * written together: on a plain socket one writev, so a message's small header does not
   * leave in a segment of its own (a 1 MB batch of a move went as two writes, and the
   * receiver woke for each).
   */
  sendFrames(value: unknown, bodies: readonly (Uint8Array | readonly Uint8Array[])[]): Promise<void> {
    const text = JSON.stringify(value) ?? 'null';
    const textLength = Buffer.byteLength(text);
    // Refused here rather than sent, since the peer (same limits) would drop the connection.
    if (textLength > this.maxControl)
      return Promise.reject(oversized(KIND_JSON, textLength, this.maxControl));
    // The header and the JSON in one buffer, so they leave in one segment.
    const frame = Buffer.allocUnsafe(HEADER_BYTES + textLength);
    frame[0] = KIND_JSON;
    frame.writeUInt32BE(textLength, 1);
    frame.write(text, HEADER_BYTES, 'utf8');
    if (bodies.length > 0 && this.tls) {
      // A TLS socket encrypts a corked batch only after copying it whole (see write()).
      const sends = [this.write([frame], frame.length), ...bodies.map((body) => this.sendBytes(body))];
      return Promise.all(sends).then(() => undefined);
    }
    return this.writeFrames([frame], bodies);
  }

  /** `first` (whole frames), then a binary frame of each body, in one write. */
  private writeFrames(
    first: readonly Uint8Array[],
    bodies: readonly (Uint8Array | readonly Uint8Array[])[],
  ): Promise<void> {
    const pieces = [...first];
    let length = first.reduce((n, piece) => n + piece.byteLength, 0);
    for (const body of bodies) {
      const parts: readonly Uint8Array[] = body instanceof Uint8Array ? [body] : body;
      const bodyLength = parts.reduce((n, part) => n + part.byteLength, 0);
      if (bodyLength > this.maxData) return Promise.reject(oversized(KIND_BYTES, bodyLength, this.maxData));
      const header = Buffer.allocUnsafe(HEADER_BYTES);
      header[0] = KIND_BYTES;
      header.writeUInt32BE(bodyLength, 1);
      pieces.push(header);
      for (const part of parts) if (part.byteLength > 0) pieces.push(part);
      length += HEADER_BYTES + bodyLength;
    }
    return this.write(pieces, length);
  }

  /** Ends gracefully once queued writes are out; a peer that never closes its side is cut off after stallMs. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.end();
    // Armed now, not when our data has gone out: a peer that never reads would otherwise keep
    // the socket (and a listener waiting for it to close) forever.
    setTimeout(() => this.socket.destroy(), this.stallMs).unref();
  }

  destroy(reason?: Error): void {
    this.isClosed = true;
    if (reason !== undefined) this.failure ??= reason;
    this.socket.destroy();
  }

  /** Writes the pieces of one or more frames back to back; resolves once the socket has room again. */
  private write(pieces: readonly Uint8Array[], length: number): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error(`connection to ${this.remote} is closed`));
    // All pieces go in synchronously, so concurrent sends never interleave inside a frame.
    // Corking turns them into one writev; but a TLS socket copies a corked batch into one
    // buffer before encrypting it, which for a large frame costs more than it saves.
    const batch = !this.tls || length <= BATCH_LIMIT_TLS;
    if (batch) this.socket.cork();
    for (const piece of pieces) this.socket.write(piece);
    if (batch) this.socket.uncork();
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  private settleDrainWaiters(error: Error | null): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) {
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  }

  private receive(chunk: Buffer, reused: boolean): void {
    this.received(() => this.reader.push(chunk, reused));
  }

  /** A read landed straight in the payload being assembled (reused-reads.ts DirectReads). */
  private receiveInPlace(length: number): void {
    this.received(() => this.reader.filledInPlace(length));
  }

  private received(parse: () => void): void {
    this.lastByteAt = performance.now();
    try {
      parse();
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.reader.midFrame && this.stallTimer === null && !this.finished) this.armStallTimer(this.stallMs);
  }

  /**
   * One timer per stall period rather than one per chunk: when it fires it measures the
   * silence since the last byte and either drops the peer or sleeps for the remainder.
   */
  private armStallTimer(delayMs: number): void {
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (this.finished || !this.reader.midFrame) return;
      const silentMs = performance.now() - this.lastByteAt;
      if (silentMs >= this.stallMs) {
        this.destroy(new FrameError(`peer stalled ${this.stallMs / 1000} s in the middle of a frame`));
      } else {
        this.armStallTimer(this.stallMs - silentMs);
      }
    }, delayMs);
    this.stallTimer.unref();
  }

  private deliver(frame: Frame): void {
    if (this.frameHandler === null) this.queued.push(frame);
    else this.callFrameHandler(frame);
  }

  private callFrameHandler(frame: Frame): void {
    try {
      this.frameHandler!(frame);
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private peerEnded(): void {
    if (this.reader.midFrame) {
      this.destroy(new FrameError('peer closed the connection in the middle of a frame'));
      return;
    }
    this.isClosed = true;
    // A plain Duplex may allow half-open streams; end our side too so 'close' follows.
    if (!this.socket.writableEnded) this.socket.end();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.isClosed = true;
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.settleDrainWaiters(new Error(`connection to ${this.remote} closed before the write went out`));
    this.closeHandler?.(this.failure);
  }
}
