import type { Frame, FramedConnection } from './frames.ts';
import { isObject } from './protocol.ts';

/** One message: a JSON header and the binary frames announced by its `bodies` field. */
export interface Message {
  readonly header: Readonly<Record<string, unknown>>;
  readonly bodies: readonly Uint8Array[];
}

/** A message's body: one buffer, or several sent as one frame without joining them. */
export type Body = Uint8Array | readonly Uint8Array[];

/** More binary frames than this behind one header is not something admove sends. */
const MAX_BODIES = 1 << 20;

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
  private readonly closeHandlers: ((reason: ChannelClosed) => void)[] = [];

  constructor(readonly conn: FramedConnection) {
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
    const sends = [this.conn.sendJson({ ...header, bodies: bodies.length })];
    for (const body of bodies) sends.push(this.conn.sendBytes(body));
    return Promise.all(sends).then(() => undefined);
  }

  /** The next message; rejects with `ChannelClosed` once the connection is gone. */
  next(): Promise<Message> {
    const m = this.ready.shift();
    if (m) return Promise.resolve(m);
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
      this.partial = { header: frame.value, bodies: [], expected: expected as number };
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
    const message: Message = { header: p.header, bodies: p.bodies };
    const w = this.waiting.shift();
    if (w) w.resolve(message);
    else this.ready.push(message);
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
