/**
 * Reads of a plain TCP socket into one buffer per connection, reused for every read.
 *
 * Why: by default Node allocates a fresh 64 KiB buffer for every read. A 100 MB move is
 * ~1,600 of them, each new external memory: in a probe, allocating that many cost 110–270 ms
 * against ~10 ms for copying 100 MB into warm memory, and `--trace-gc` showed the receiving
 * agent collecting every 50–100 ms during a move (issue 10). With `onread`, libuv reads
 * straight into our buffer and the frame reader copies each payload once, into its final
 * storage.
 *
 * TLS sockets keep Node's own reads: their bytes are decrypted into fresh buffers anyway.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';

/** Bytes as read: a view of the shared buffer, valid only until the callback returns. */
export type ReadSink = (bytes: Buffer) => void;

/** Room for several TCP segments per read; one such buffer per plain connection. */
export const READ_BUFFER_BYTES = 256 << 10;

export class ReusedReads {
  private sink: ReadSink | null = null;
  /** Reads that came before anyone attached, copied (their bytes would be overwritten). */
  private early: Buffer[] = [];
  /** Pass as the socket's `onread` option. */
  readonly onread = {
    buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
    callback: (length: number, buffer: Uint8Array): boolean => {
      const bytes = (buffer as Buffer).subarray(0, length);
      if (this.sink === null) this.early.push(Buffer.from(bytes));
      else this.sink(bytes);
      return true;
    },
  };

  /** From now on every read goes to `sink`, starting with any that came before. */
  attach(sink: ReadSink): void {
    this.sink = sink;
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
