/**
 * Binary bodies of worker requests and replies. Exemplars travel as Arrow IPC streams (one
 * per fragment, schema checked on arrival against the job's feature count); parameters,
 * accumulators, ids and flags as their raw little-endian bytes (every host admove runs on
 * is little-endian: ipc.ts refuses to run elsewhere).
 */
import { copyRows } from '../exemplars/batch.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { decodeExemplars, encodeExemplars } from '../exemplars/ipc.ts';

export function bytesOf(a: Float64Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

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

/** One Arrow IPC stream per fragment. */
export function exemplarBodies(fragments: readonly ExemplarColumns[]): Uint8Array[] {
  return fragments.map((f) => encodeExemplars([f], f.dim));
}

/**
 * The exemplars of IPC bodies, each batch copied into buffers of its own: the received
 * bytes may share a buffer with other data, and a thread worker takes exemplars by
 * transferring their buffers.
 */
export function exemplarsFrom(bodies: readonly Uint8Array[], dim: number): ExemplarColumns[] {
  const out: ExemplarColumns[] = [];
  for (const body of bodies) {
    for (const view of decodeExemplars(body, dim)) out.push(copyRows(view, 0, view.count));
  }
  return out;
}
