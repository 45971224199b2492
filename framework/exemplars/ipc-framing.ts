/**
 * Cutting an Arrow IPC byte stream arriving on a connection into its encapsulated
 * messages, without apache-arrow's async byte adapters.
 *
 * Why not `RecordBatchReader.readAll(socket)`: its adapters (apache-arrow 21.2.0,
 * `io/adapters` fromNodeStream / fromAsyncIterable) go back to the source for more bytes
 * whenever a read asks for *exactly* the bytes already buffered. On an open connection that
 * wait lasts until the peer sends the next stream or closes: a plain async iterable
 * (measured) never delivered a 1 kB stream; a net.Socket does only as long as chunk
 * boundaries happen to fall well. Here each message is read whole, by its own length
 * prefixes, and arrow's synchronous reader then decodes the collected messages.
 *
 * Encapsulated message (Arrow columnar format, "IPC streaming format"): int32 0xFFFFFFFF
 * (continuation marker), int32 metadata length, the flatbuffer `Message` padded to 8 bytes,
 * then `bodyLength` bytes of body. The end-of-stream marker is 0xFFFFFFFF 0x00000000. The
 * prefixes are little-endian by definition of the format.
 */
import { Message, MessageHeader } from 'apache-arrow';
import { UserError } from '../errors.ts';

/** A stream that is not an exemplar stream of the expected dim (or not an Arrow IPC stream at all). */
export class SchemaMismatch extends UserError {}

/** A stream that ended (or broke off) before all its rows arrived. */
export class TruncatedStream extends Error {
  override readonly name = 'TruncatedStream';
}

/** No flatbuffer message header of ours comes near this; garbage read as a length would. */
const MAX_METADATA_BYTES = 1 << 20;
/** Our writer keeps bodies to ~4 MiB; refuse to buffer a body larger than this. */
export const MAX_BODY_BYTES = 256 << 20;

/** One encapsulated message: its bytes in order, and its decoded header (null for the end-of-stream marker). */
export interface FramedMessage {
  readonly chunks: readonly Uint8Array[];
  readonly message: Message | null;
}

/** Bytes pulled from an async source on demand, in exactly the amounts asked for. */
export class ByteReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /**
   * Exactly `n` bytes: a view of the received chunk when it holds them all, else one copy.
   * Null when the source ends before any byte; TruncatedStream when it ends partway.
   */
  async read(n: number, what: string): Promise<Uint8Array | null> {
    while (this.buffered < n) {
      const next = await this.source.next();
      if (next.done) {
        if (this.buffered === 0) return null;
        throw new TruncatedStream(`input ended ${this.buffered} bytes into the ${n} of ${what}`);
      }
      if (next.value.byteLength === 0) continue;
      this.chunks.push(next.value);
      this.buffered += next.value.byteLength;
    }
    return this.take(n);
  }

  /** Stop reading: ends the source (a Node stream's iterator destroys the stream). */
  async close(): Promise<void> {
    await this.source.return?.();
  }

  private take(n: number): Uint8Array {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first.byteLength >= n) {
      this.advance(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    for (let at = 0; at < n; ) {
      const chunk = this.chunks[0];
      const k = Math.min(chunk.byteLength, n - at);
      out.set(chunk.subarray(0, k), at);
      this.advance(k);
      at += k;
    }
    return out;
  }

  /** Drop `k` bytes from the front of the first chunk. */
  private advance(k: number): void {
    const first = this.chunks[0];
    if (k === first.byteLength) this.chunks.shift();
    else this.chunks[0] = first.subarray(k);
  }
}

/** The next message on `input`; null when the input ends cleanly before one starts. */
export async function readMessage(input: ByteReader): Promise<FramedMessage | null> {
  const prefix = await input.read(8, 'a message prefix');
  if (prefix === null) return null;
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  if (view.getInt32(0, true) !== -1) {
    throw new SchemaMismatch(
      'not an Arrow IPC stream: a message does not start with the continuation marker',
    );
  }
  const metadataLength = view.getInt32(4, true);
  if (metadataLength === 0) return { chunks: [prefix], message: null };
  if (metadataLength < 0 || metadataLength > MAX_METADATA_BYTES || metadataLength % 8 !== 0) {
    throw new SchemaMismatch(`not an Arrow IPC stream: message metadata length ${metadataLength}`);
  }
  const metadata = (await input.read(metadataLength, 'a message header')) ?? endedAt('a message header');
  const message = Message.decode(metadata);
  const bodyLength = Number(message.bodyLength);
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || bodyLength > MAX_BODY_BYTES) {
    throw new SchemaMismatch(
      `Arrow IPC ${MessageHeader[message.headerType]} message with a body of ${bodyLength} bytes (at most ${MAX_BODY_BYTES})`,
    );
  }
  if (bodyLength === 0) return { chunks: [prefix, metadata], message };
  const body = (await input.read(bodyLength, 'a message body')) ?? endedAt('a message body');
  return { chunks: [prefix, metadata, body], message };
}

function endedAt(what: string): never {
  throw new TruncatedStream(`input ended before ${what}`);
}
