/**
 * A TCP forward in front of an agent, for tests of paths the agents cannot take: the first
 * `whole` connections through it are passed on unchanged (the coordinator's job and worker
 * connections); later ones (another agent's peer connection) are refused at once, reset
 * after `resetAfterBytes` bytes have gone through, or passed on at `bytesPerSecond` (a slow
 * link).
 */
import { type AddressInfo, createServer, connect as tcpConnect } from 'node:net';
import type { Endpoint } from '../../framework/net/secure-socket.ts';

export interface Forward {
  readonly endpoint: Endpoint;
  /** Connections reset in the middle so far. */
  resets(): number;
  close(): void;
}

export async function startForward(
  target: Endpoint,
  options: { readonly whole: number; readonly resetAfterBytes?: number; readonly bytesPerSecond?: number },
): Promise<Forward> {
  let served = 0;
  let resets = 0;
  const server = createServer((client) => {
    served++;
    if (
      served > options.whole &&
      options.resetAfterBytes === undefined &&
      options.bytesPerSecond === undefined
    ) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(target.port, target.host);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.pipe(client);
    if (served <= options.whole) {
      client.pipe(upstream);
      return;
    }
    const rate = options.bytesPerSecond;
    if (rate !== undefined) {
      // Each chunk on, then nothing more until it would have gone through at `rate`.
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        client.pause();
        setTimeout(() => client.resume(), (chunk.length / rate) * 1000);
      });
      return;
    }
    const limit = options.resetAfterBytes ?? 0;
    let passed = 0;
    client.on('data', (chunk: Buffer) => {
      passed += chunk.length;
      if (passed > limit) {
        resets++;
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        return;
      }
      upstream.write(chunk);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: { host: '127.0.0.1', port: (server.address() as AddressInfo).port },
    resets: () => resets,
    close: () => server.close(),
  };
}
