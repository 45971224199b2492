/**
 * Where an agent puts the exemplar bodies it receives (a coordinator's `insert`, a peer's
 * `rows`): in shared memory (SharedArrayBuffer), a pre-faulted slab of the receive pool when
 * there is one (receive-memory.ts), else a fresh one. Other bodies (parameters,
 * accumulators) go where the frame reader puts them by default.
 *
 * Why shared memory: V8 counts the bytes of an ordinary ArrayBuffer against the heap of the
 * thread that holds it, and answers tens of MB arriving at once with a collection. Every
 * move in or out brings that much into the agent's main thread (frames as they arrive; the
 * rows a worker extracts), so the sending agent ran an incremental collection (1–10 ms) and
 * its finish (2–8 ms) in the middle of 8 of 10 moves of 20.8 MB (timestamps in the agents).
 * Shared memory is not counted per thread (V8: `BackingStore::PerIsolateAccountingLength`):
 * with the agents' exemplar bodies in it, none of 8 such moves had a collection on either
 * agent. Median migration of the later jobs, 20.8 MB: 29.5 → 16.4 ms in a first probe (every
 * binary body shared, 7 jobs each way, quiet machine); 27.3 → 23.6 ms for this code,
 * interleaved with the code before it (12 jobs each way, the machine 34 % CPU-pressured from
 * outside). A worker thread takes such rows by sharing, not by transfer: no copy either way.
 *
 * The cost: nothing tells V8 to collect when shared rows are let go, so a worker thread whose
 * rows left collects its heap when its slot asks, once the reply that sent them away is out
 * (worker-thread.ts, worker-slot.ts), and the agent collects when a job ends (job-session.ts).
 */
import type { BodyAllocator } from '../net/frames.ts';
import type { BodyPlacement } from '../net/message-channel.ts';

/** A fresh body of `length` bytes in shared memory, at offset 0 of a buffer of its own. */
export const sharedBody: BodyAllocator = (length) => new Uint8Array(new SharedArrayBuffer(length));

/** Messages whose bodies are exemplars. */
export function carriesExemplars(header: Readonly<Record<string, unknown>>): boolean {
  return header.op === 'insert' || header.type === 'rows';
}

/** Exemplar bodies in fresh shared memory (an agent without a receive pool). */
export const sharedExemplarBodies: BodyPlacement = (header) => (carriesExemplars(header) ? sharedBody : null);
