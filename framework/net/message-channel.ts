import type { BodyAllocator, Frame, FramedConnection } from './frames.ts';
import { isObject } from './protocol.ts';

/** One message: a JSON header and the binary frames announced by its `bodies` field. */
export interface Message {
  readonly header: Readonly<Record<string, unknown>>;
  readonly bodies: readonly Uint8Array[];
}

/** A message's body: one buffer, or several sent as one frame without joining them. */
export type Body = Uint8Array | readonly Uint8Array[];

/**
 * Where the bodies of a message are assembled, chosen from its header (null: fresh memory).
 * An agent puts exemplar bodies into pre-faulted memory (receive-pool.ts), nothing else.
 */
export type BodyPlacement = (header: Readonly<Record<string, unknown>>) => BodyAllocator | null;

/** More binary frames than this behind one header is not something admove sends. */
const MAX_BODIES = 1 << 20;
/**
 * Bytes of messages received and not yet taken by `next()`. Past this the peer is sending
 * far more than anyone reads (a flood, or a sender racing far ahead): the connection closes.
 */
const MAX_QUEUED_BYTES = 512 << 20;

/** The connection closed: why, in one line. */
export class ChannelClosed extends Error {
  override readonly name = 'ChannelClosed';
}

/**
 * Messages over a framed connection, in order. A header that is not an object, announces a
 * bad number of bodies, or a binary frame where a header belongs breaks the protocol: the
 * connection is destroyed (that connection only) and every waiting `next()` rejects.
 */
export class MessageChannel {
  private readonly ready: Message[] = [];
  private readonly waiting: { resolve(m: Message): void; reject(e: Error): void }[] = [];
  private partial: { header: Record<string, unknown>; bodies: Uint8Array[]; expected: number } | null = null;
  private closedWith: ChannelClosed | null = null;
  private received = 0;
  private queuedBytes = 0;
  /** Until the peer has said who it is, it may send headers only (see `allowBodies`). */
  private bodiesAllowed: boolean;
  private readonly closeHandlers: ((reason: ChannelClosed) => void)[] = [];
  private placement: BodyPlacement | null = null;

  /** `headersOnly`: refuse binary bodies until `allowBodies()` (a server before the hello). */
  constructor(
    readonly conn: FramedConnection,
    options: { headersOnly?: boolean } = {},
  ) {
    this.bodiesAllowed = !options.headersOnly;
    conn.onFrame((frame) => this.take(frame));
    conn.onClose((reason) => this.closed(reason));
  }

  get remote(): string {
    return this.conn.remote;
  }

  /** Bytes of message bodies received so far (what a move costs this end of the connection). */
  get bodyBytesReceived(): number {
    return this.received;
  }

  get isClosed(): boolean {
    return this.closedWith !== null;
  }

  send(header: Record<string, unknown>, bodies: readonly Body[] = []): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return this.conn.sendFrames({ ...header, bodies: bodies.length }, bodies);
  }

  /** The peer is known now: it may send message bodies. */
  allowBodies(): void {
    this.bodiesAllowed = true;
  }

  /** From the next message on, its header chooses where its bodies are assembled. */
  placeBodies(placement: BodyPlacement | null): void {
    this.placement = placement;
  }

  /** The next message; rejects with `ChannelClosed` once the connection is gone. */
  next(): Promise<Message> {
    const m = this.ready.shift();
    if (m) {
      this.queuedBytes -= sizeOf(m);
      return Promise.resolve(m);
    }
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Called once, when the connection closes for any reason. */
  onClose(handler: (reason: ChannelClosed) => void): void {
    if (this.closedWith) handler(this.closedWith);
    else this.closeHandlers.push(handler);
  }

  close(): void {
    this.conn.close();
  }

  destroy(reason: string): void {
    this.conn.destroy(new Error(reason));
  }

  private take(frame: Frame): void {
    if (this.partial === null) {
      if (frame.kind !== 'json' || !isObject(frame.value)) {
        this.destroy('protocol error: expected a message header');
        return;
      }
      const expected = frame.value.bodies ?? 0;
      if (!(Number.isInteger(expected) && (expected as number) >= 0 && (expected as number) <= MAX_BODIES)) {
        this.destroy('protocol error: bad body count in a message header');
        return;
      }
      if (!this.bodiesAllowed && expected !== 0) {
        this.destroy('protocol error: message bodies before the hello');
        return;
      }
      this.partial = { header: frame.value, bodies: [], expected: expected as number };
      // Frames are parsed synchronously: this applies to this message's bodies, next in line.
      if (this.placement !== null && expected !== 0) this.conn.setBodyAllocator(this.placement(frame.value));
    } else if (frame.kind === 'bytes') {
      this.received += frame.bytes.byteLength;
      this.partial.bodies.push(frame.bytes);
    } else {
      this.destroy('protocol error: a header arrived where a message body belongs');
      return;
    }
    const p = this.partial;
    if (p.bodies.length < p.expected) return;
    this.partial = null;
    if (this.placement !== null && p.expected !== 0) this.conn.setBodyAllocator(null);
    const message: Message = { header: p.header, bodies: p.bodies };
    const w = this.waiting.shift();
    if (w) {
      w.resolve(message);
      return;
    }
    this.ready.push(message);
    this.queuedBytes += sizeOf(message);
    if (this.queuedBytes > MAX_QUEUED_BYTES) this.destroy('the peer sends far more than is read');
  }

  private closed(reason: Error | null): void {
    if (this.closedWith) return;
    this.closedWith = new ChannelClosed(
      reason ? `connection to ${this.remote} lost: ${reason.message}` : `connection to ${this.remote} closed`,
    );
    for (const w of this.waiting.splice(0)) w.reject(this.closedWith);
    for (const h of this.closeHandlers.splice(0)) h(this.closedWith);
  }
}

function sizeOf(m: Message): number {
  let n = 0;
  for (const b of m.bodies) n += b.byteLength;
  return n;
}
