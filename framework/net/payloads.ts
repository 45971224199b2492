/**
 * Binary bodies of worker requests and replies. Exemplars travel as Arrow IPC streams (one
 * per fragment, schema checked on arrival against the job's feature count); parameters,
 * accumulators, ids and flags as their raw little-endian bytes (every host admove runs on
 * is little-endian: ipc.ts refuses to run elsewhere).
 */

import type { ExemplarColumns } from '../exemplars/columns.ts';
import { columnsFromTemplate, streamPartsFromTemplate } from '../exemplars/ipc-template.ts';
import { copyRows } from '../exemplars/rows.ts';
import { ownsItsBuffer } from './frames.ts';

let codec: Promise<typeof import('../exemplars/ipc.ts')> | null = null;
/**
 * The Arrow IPC codec, loaded on first use: a job on threads alone never loads Arrow (≈ 0.25 s).
 * The promise is kept: every `import()` goes through the module loader again (with tsx's
 * hooks, a round trip to their thread), measured at 0.3–1.5 ms a call — per 1 MB batch.
 */
const ipc = () => {
  codec ??= import('../exemplars/ipc.ts');
  return codec;
};

/** Load the codec now (a job that uses agents), so the first move does not wait for it. */
export function preloadCodec(): void {
  ipc().catch(() => {});
}

export { bytesOf } from '../exemplars/rows.ts';

/** An aligned copy only when the bytes do not sit on an 8-byte boundary. */
export function float64From(bytes: Uint8Array): Float64Array {
  if (bytes.byteLength % 8 !== 0) throw new Error(`a Float64 body of ${bytes.byteLength} bytes`);
  if (bytes.byteOffset % 8 === 0)
    return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  return new Float64Array(bytes.slice().buffer);
}

export function int32From(bytes: Uint8Array): Int32Array {
  if (bytes.byteLength % 4 !== 0) throw new Error(`an Int32 body of ${bytes.byteLength} bytes`);
  return new Int32Array(bytes.slice().buffer);
}

/**
 * One Arrow IPC stream per fragment, each as its pieces (views of the fragment's arrays,
 * no copy): a body of one frame, written piece by piece. The metadata pieces come from a
 * template after the first stream of each shape (ipc-template.ts).
 */
export async function exemplarBodies(fragments: readonly ExemplarColumns[]): Promise<Uint8Array[][]> {
  const { exemplarStreamParts } = await ipc();
  return Promise.all(
    fragments.map((f) => streamPartsFromTemplate(f, (x) => exemplarStreamParts([x], x.dim))),
  );
}

/**
 * The exemplars of IPC bodies. A body of one record batch that has a buffer to itself (a
 * frame assembled from several socket reads, in fresh memory or a pre-faulted slab that
 * may be longer than it) is used in place: the columns are views of it, and a thread
 * worker takes them by transferring that one buffer. Anything else (a small frame inside
 * one socket read, shared with other frames; several batches in one buffer) is copied out
 * first.
 */
export async function exemplarsFrom(bodies: readonly Uint8Array[], dim: number): Promise<ExemplarColumns[]> {
  const { decodeExemplars } = await ipc();
  const out: ExemplarColumns[] = [];
  for (const body of bodies) {
    // Read by arrow-js, or as views when every metadata byte equals a stream it read (ipc-template.ts).
    const views = columnsFromTemplate(body, dim, (b) => decodeExemplars(b, dim));
    // In place only when one batch uses the buffer: a worker hands a whole batch on by
    // transferring its buffer, which must then hold nothing else it keeps.
    const owned = views.length === 1 && ownsItsBuffer(body);
    for (const view of views) out.push(owned ? view : copyRows(view, 0, view.count));
  }
  return out;
}
