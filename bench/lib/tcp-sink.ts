/**
 * The receiving end of the raw-send baselines of `npm run bench -- tcp`, run as a process
 * of its own: `node --import tsx bench/lib/tcp-sink.ts tcp|tls [SECRET_FILE]`.
 *
 * Prints `listening PORT` on stdout, then serves any number of connections, each carrying
 * any number of transfers:
 * - `tcp`: a plain socket; a transfer is an 8-byte little-endian length N, then N bytes; the
 *   sink answers one byte once it has received all N (it only counts them: no copy). Its
 *   reads land in one reused buffer (`onread`, framework/net/reused-reads.ts), as on admove's
 *   own plain sockets (a fresh 64 KB buffer a read, Node's default, made the raw send the
 *   slower of the two), of 256 KiB where admove's is 16 KiB: admove reads a large payload in
 *   place and keeps its shared buffer small so little of it is copied; the sink keeps
 *   nothing, and in a probe (one run of each) 16 KiB reads made its 20.8 MB receive slower
 *   (9.1 vs 7.6 ms).
 * - `tls`: admove's own TLS 1.3 with the pre-shared key (framework/net/secure-socket.ts
 *   `listen`); a transfer is a JSON frame `{ bytes: N }`, then binary frames of N bytes in
 *   all; the sink answers a JSON frame once it has received them.
 * It exits on SIGTERM or when its parent closes its stdin.
 */
import { createServer, type Socket } from 'node:net';
import { ReusedReads, withReusedReads } from '../../framework/net/reused-reads.ts';
import { type Listener, listen, readSecretFile } from '../../framework/net/secure-socket.ts';

const HEADER = 8;
/** The sink's reads (see the top of this file). */
const SINK_READ_BYTES = 256 << 10;

/** One connection: reads land in one reused buffer, as on admove's plain sockets (the fastest receive Node offers). */
function serveTcp(accepted: Socket): void {
  // Larger reads than admove's own (it keeps no payload, so it never reads in place).
  const reads = new ReusedReads(SINK_READ_BYTES);
  const socket = withReusedReads(accepted, reads);
  if (socket === null) throw new Error('tcp-sink: cannot read the accepted socket into a reused buffer');
  socket.setNoDelay(true);
  const header = Buffer.alloc(HEADER);
  let headerFilled = 0;
  let need = -1;
  let got = 0;
  reads.attach((chunk: Buffer) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (need < 0) {
        const take = Math.min(HEADER - headerFilled, chunk.length - offset);
        chunk.copy(header, headerFilled, offset, offset + take);
        headerFilled += take;
        offset += take;
        if (headerFilled < HEADER) return;
        need = Number(header.readBigUInt64LE(0));
        headerFilled = 0;
        got = 0;
      }
      const take = Math.min(need - got, chunk.length - offset);
      got += take;
      offset += take;
      if (got === need) {
        socket.write(Buffer.of(1));
        need = -1;
      }
    }
  });
  socket.on('error', () => socket.destroy());
}

async function main(): Promise<void> {
  const [mode, secretFile] = process.argv.slice(2);
  let close: () => Promise<void>;
  let port: number;
  if (mode === 'tcp') {
    const server = createServer({ pauseOnConnect: true }, serveTcp);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    port = address.port;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  } else if (mode === 'tls' && secretFile !== undefined) {
    const listener: Listener = await listen({
      host: '127.0.0.1',
      port: 0,
      secret: await readSecretFile(secretFile),
      onConnection(conn) {
        let need = -1;
        let got = 0;
        conn.onFrame((frame) => {
          if (frame.kind === 'json') {
            need = Number((frame.value as { bytes: number }).bytes);
            got = 0;
          } else {
            got += frame.bytes.byteLength;
          }
          if (need >= 0 && got >= need) {
            need = -1;
            conn.sendJson({ got }).catch(() => {});
          }
        });
      },
    });
    port = listener.address.port;
    close = () => listener.close();
  } else {
    process.stderr.write('usage: tcp-sink.ts tcp | tls SECRET_FILE\n');
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`listening ${port}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
    process.stdin.on('end', () => resolve());
    process.stdin.resume();
  });
  await close();
  process.exit(0);
}

await main();
