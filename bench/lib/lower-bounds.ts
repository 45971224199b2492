/**
 * Physical lower bounds for moving `bytes` between two workers on this machine, measured in
 * the same run as the redistributions they are compared with:
 * - a warm memory copy into a pre-allocated buffer (what a pre-initialised receiver costs),
 * - a copy into fresh memory (`slice()`: the pages must be faulted in),
 * - the bytes posted to another thread as transferred ArrayBuffers of the size a worker's
 *   batches have (`BATCH_BYTES`: a move transfers whole batches), until they are there: one
 *   way, timed by the receiving thread on the clock every thread shares (no copy at all).
 *   Not as one buffer: transferring one buffer of hundreds of MB was measured to cost more
 *   than the same bytes in 1 MB buffers, so it bounds nothing a move does.
 * A TCP column will join these once workers can be remote.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { BATCH_BYTES } from '../../framework/exemplars/rows.ts';
import { monotonicMs } from '../../framework/util/monotonic.ts';
import { median } from './stats.ts';

export interface LowerBounds {
  readonly bytes: number;
  readonly memcpyWarmMs: number;
  readonly memcpyFreshMs: number;
  readonly postTransferMs: number;
}

// Replies with when the buffers arrived (the process's monotonic clock, as \`monotonicMs\`) and
// hands them back, so the next round reuses them: fresh allocations between rounds were
// measured to slow the post itself (external memory makes V8 collect garbage).
const ECHO = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (buffers) => {
  const at = Number(process.hrtime.bigint()) / 1e6;
  parentPort.postMessage({ at, buffers }, buffers);
});`;

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
    let batches: ArrayBuffer[] = [];
    for (let o = 0; o < n; o += BATCH_BYTES) batches.push(src.slice(o, Math.min(n, o + BATCH_BYTES)).buffer);
    batches = await this.roundTrip(batches, () => {}); // warm-up
    for (let r = 0; r < reps; r++) {
      let t = performance.now();
      dst.set(src);
      warm.push(performance.now() - t);
      t = performance.now();
      src.slice();
      fresh.push(performance.now() - t);
      batches = await this.roundTrip(batches, (ms) => post.push(ms));
    }
    return {
      bytes: n,
      memcpyWarmMs: median(warm),
      memcpyFreshMs: median(fresh),
      postTransferMs: median(post),
    };
  }

  /** Post `batches` (transferred) and time their arrival on the other thread; resolves with them back. */
  private async roundTrip(batches: ArrayBuffer[], record: (ms: number) => void): Promise<ArrayBuffer[]> {
    const sentAt = monotonicMs();
    this.worker.postMessage(batches, batches);
    const [reply] = (await once(this.worker, 'message')) as [{ at: number; buffers: ArrayBuffer[] }];
    record(reply.at - sentAt);
    return reply.buffers;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
