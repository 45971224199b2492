/**
 * Physical lower bounds for moving `bytes` between two workers on this machine, measured in
 * the same run as the redistributions they are compared with:
 * - a warm memory copy into a pre-allocated buffer (what a pre-initialised receiver costs),
 * - a copy into fresh memory (`slice()`: the pages must be faulted in),
 * - the bytes posted to another thread as one transferred ArrayBuffer, until that thread
 *   acknowledges (no copy at all; the round trip of the small acknowledgement is included).
 * A TCP column will join these once workers can be remote.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { median } from './stats.ts';

export interface LowerBounds {
  readonly bytes: number;
  readonly memcpyWarmMs: number;
  readonly memcpyFreshMs: number;
  readonly postTransferMs: number;
}

const ECHO = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (buffer) => parentPort.postMessage(buffer.byteLength));`;

export class LowerBoundProbe {
  private readonly worker = new Worker(ECHO, { eval: true });

  async measure(bytes: number, reps: number): Promise<LowerBounds> {
    const n = Math.max(1, Math.round(bytes));
    const src = new Uint8Array(n);
    for (let i = 0; i < n; i += 4096) src[i] = i & 255;
    const dst = new Uint8Array(n);
    dst.set(src); // warm: the destination's pages exist
    const warm: number[] = [];
    const fresh: number[] = [];
    const post: number[] = [];
    for (let r = 0; r < reps; r++) {
      let t = performance.now();
      dst.set(src);
      warm.push(performance.now() - t);
      t = performance.now();
      const copy = src.slice();
      fresh.push(performance.now() - t);
      t = performance.now();
      this.worker.postMessage(copy.buffer, [copy.buffer]);
      await once(this.worker, 'message');
      post.push(performance.now() - t);
    }
    return {
      bytes: n,
      memcpyWarmMs: median(warm),
      memcpyFreshMs: median(fresh),
      postTransferMs: median(post),
    };
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
