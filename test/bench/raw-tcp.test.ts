/** bench/lib/tcp-processes.ts `openRawTcp`: the raw sends of `npm run bench -- tcp`, against real sockets. */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openRawTcp } from '../../bench/lib/tcp-processes.ts';

let server: Server | null = null;

/** A loopback server running `serve` on each connection; resolves with its port. */
async function listen(serve: (socket: Socket) => void): Promise<number> {
  server = createServer(serve);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

describe('a raw TCP send', () => {
  it('is timed until the receiver answers that it has every byte', async () => {
    const port = await listen((socket) => {
      let need = -1;
      let got = 0;
      socket.on('data', (chunk: Buffer) => {
        if (need < 0) {
          need = Number(chunk.readBigUInt64LE(0));
          got = chunk.length - 8;
        } else got += chunk.length;
        if (got === need) socket.write(Buffer.of(1));
      });
    });
    const raw = await openRawTcp(port);
    try {
      const ms = await raw.send(new Uint8Array(3 << 20));
      expect(ms).toBeGreaterThan(0);
    } finally {
      raw.close();
    }
  });

  it('fails, instead of waiting forever, when the receiver closes the connection without answering', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.end()));
    const raw = await openRawTcp(port);
    try {
      const failed = await raw.send(new Uint8Array(1 << 20)).catch((error: Error) => error);
      expect(failed).toBeInstanceOf(Error);
      expect(String((failed as Error).cause)).toMatch(/sink closed the connection/);
      // And the next send fails at once.
      await expect(raw.send(new Uint8Array(8))).rejects.toThrow(/sink closed the connection/);
    } finally {
      raw.close();
    }
  }, 10_000);
});
