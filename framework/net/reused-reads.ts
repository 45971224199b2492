/**
 * Reads of a plain TCP socket into memory the reader chooses: one buffer per connection,
 * reused for every read, or — in the middle of a large payload — straight into the rest of
 * that payload's final storage.
 *
 * Why: by default Node allocates a fresh 64 KiB buffer for every read. A 100 MB move is
 * ~1,600 of them, each new external memory: in a probe, allocating that many cost 110–270 ms
 * against ~10 ms for copying 100 MB into warm memory, and `--trace-gc` showed the receiving
 * agent collecting every 50–100 ms during a move (issue 10). With `onread`, libuv reads into
 * the buffer we return for each read. Once a payload is known to span reads, the rest of it
 * is read where it will stay (`DirectReads`), so the bulk of a move is copied by the kernel
 * only, not once more by us.
 *
 * TLS sockets keep Node's own reads: their bytes are decrypted into fresh buffers anyway.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';

/** Bytes as read: a view of the shared buffer, valid only until the callback returns. */
export type ReadSink = (bytes: Buffer) => void;

/** A reader that can take reads in place: where the next read may land, and how much did. */
export interface DirectReads {
  /** The memory the next read may fill (its length caps the read), or null for the shared buffer. */
  target(): Uint8Array | null;
  /** The last read put `length` bytes at the start of the memory `target()` gave. */
  filled(length: number): void;
}

/**
 * The shared buffer of admove's own connections: room for many small frames per read, and
 * little of a large payload. Between frames the reader cannot know what comes, so a read
 * lands here, and the start of a large payload that came with it is copied out; the rest of
 * the payload is read in place. At 256 KiB that copy was a quarter of every 1 MB batch of a
 * move (6–7 ms of the receiving agent's 30 per 100 MB, in a CPU profile); at 16 KiB it is
 * under 2 %, for one more read per payload.
 */
export const READ_BUFFER_BYTES = 16 << 10;

export class ReusedReads {
  private sink: ReadSink | null = null;
  private direct: DirectReads | null = null;
  private readonly shared: Buffer;
  /** Reads that came before anyone attached, copied (their bytes would be overwritten). */
  private early: Buffer[] = [];
  /** Bytes read in place (DirectReads), for tests and diagnostics. */
  directBytes = 0;

  /** `bytes`: the shared buffer's size (a reader that keeps nothing may want larger reads). */
  constructor(bytes: number = READ_BUFFER_BYTES) {
    this.shared = Buffer.allocUnsafe(bytes);
  }

  /**
   * Pass as the socket's `onread` option. Node asks `buffer()` for the memory of each read
   * (right after the previous read's callback), and hands that same object to `callback`.
   */
  readonly onread = {
    buffer: (): Uint8Array => this.direct?.target() ?? this.shared,
    callback: (length: number, buffer: Uint8Array): boolean => {
      if (buffer !== this.shared) {
        this.directBytes += length;
        this.direct?.filled(length);
        return true;
      }
      const bytes = this.shared.subarray(0, length);
      if (this.sink === null) this.early.push(Buffer.from(bytes));
      else this.sink(bytes);
      return true;
    },
  };

  /**
   * From now on every read goes to `sink`, starting with any that came before; with
   * `direct`, reads it asks for land in its memory instead.
   */
  attach(sink: ReadSink, direct?: DirectReads): void {
    this.sink = sink;
    this.direct = direct ?? null;
    for (const bytes of this.early.splice(0)) sink(bytes);
  }
}

/**
 * An accepted plain socket, remade to read into `reads`' buffer. Node 20 has `onread` for
 * sockets it dials but not for the ones a server accepts, so the accepted socket's handle
 * (not yet reading: the server must be created with `pauseOnConnect`) is handed to a new
 * Socket that has it. Returns null where the handle cannot be taken (the caller then keeps
 * the socket as it is, with Node's own reads).
 */
export function withReusedReads(accepted: Socket, reads: ReusedReads): Socket | null {
  const holder = accepted as unknown as { _handle: object | null };
  const handle = holder._handle;
  if (handle === null || typeof handle !== 'object') return null;
  // `handle` and `onread` are Socket options Node documents only in part (its types omit them).
  const options = { handle, onread: reads.onread, readable: true, writable: true };
  const socket = new Socket(options as SocketConstructorOpts);
  // The old object lets go of the handle, so destroying it (which releases its place in the
  // server's connection count) closes nothing.
  holder._handle = null;
  accepted.destroy();
  socket.resume();
  return socket;
}
