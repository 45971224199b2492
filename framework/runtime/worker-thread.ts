/**
 * The thread side of a worker: a long-lived piscina worker (one thread per logical
 * worker, never recycled) that holds its share of the exemplars and runs the app's
 * kernel over them. Each request is one piscina task.
 */
import { Piscina } from 'piscina';
import type { PassKernel } from '../app/kernel.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { batchRowsFor, sharedBytesOf, transferListOf } from '../exemplars/rows.ts';
import { COMPACT_ABOVE_BATCHES, ExemplarStore } from '../exemplars/store.ts';
import { collectGarbage } from '../util/garbage.ts';
import { WorkerControl } from './control.ts';
import { FaultInjector, PROTOCOL_ERROR_TAG } from './faults.ts';
import type { ExtractReply, PassReply, WorkerRequest } from './messages.ts';
import { kernelFailure, runPassLoop } from './pass-loop.ts';
import { ThreadMail } from './thread-mail.ts';

interface ThreadState {
  control: WorkerControl;
  kernel: PassKernel;
  store: ExemplarStore;
  faults: FaultInjector;
  /** The next pass's accumulator, allocated while the thread is idle (see `accumulatorFor`). */
  spare: Float64Array | null;
  /** Rows handed to and from other threads mid-pass. */
  mail: ThreadMail | null;
}

let state: ThreadState | undefined;

/**
 * Rows in shared memory (an agent's: framework/agent/shared-bodies.ts) that left this thread
 * are freed only when both threads have collected their views of them, and nothing makes
 * V8 collect for shared memory: a vacated worker would keep them until the job ends. Past
 * this many bytes let go, a `collect` request collects the thread's heap. The agent asks
 * for it once its reply to the request that took the rows is out (for a direct send, once
 * the receivers confirmed every row), not as the rows leave: a full collection here took
 * 14–20 ms of a core, and right after the extract it ran during the stream to the receiver,
 * on a machine whose cores the sending and receiving agents were using (timestamps, issue 10).
 * (A worker whose rows are ordinary buffers never needs to.)
 */
const COLLECT_AFTER_SHARED_BYTES = 8 << 20;
let sharedLetGo = 0;

/** `bytes` of shared memory left this thread's store. */
function letGo(bytes: number): void {
  sharedLetGo += bytes;
}

/** Collect now if enough shared memory was let go; says whether it did. */
function collectLetGo(): boolean {
  if (sharedLetGo < COLLECT_AFTER_SHARED_BYTES) return false;
  sharedLetGo = 0;
  return collectGarbage();
}

/**
 * Two rows in shared memory go into a scratch store and out again, once, at start: the
 * worker's first extract (often a vacate's, on a fresh thread: an agent starts one per job)
 * then runs code V8 has compiled. Nothing of the worker's own is touched.
 */
function rehearseMoves(): void {
  const dim = 2;
  const memory = new SharedArrayBuffer(2 * (4 + 4 + 4 * dim + 1));
  const rows: ExemplarColumns = {
    count: 2,
    dim,
    ids: new Int32Array(memory, 0, 2),
    labels: new Int32Array(memory, 8, 2),
    features: new Float32Array(memory, 16, 2 * dim),
    processed: new Uint8Array(memory, 16 + 8 * dim, 2),
  };
  const scratch = new ExemplarStore();
  scratch.add(rows);
  const parts = [scratch.take(1), scratch.take(1)];
  parts.flat().flatMap(transferListOf);
  parts.flat().reduce((n, f) => n + sharedBytesOf(f), 0);
  if (scratch.count !== 0) throw new Error('rehearsal of a move left rows behind');
}

function ready(): ThreadState {
  if (!state) throw new Error('worker used before init');
  return state;
}

/** A reply whose `buffers` are transferred to the coordinator, not copied. */
class Moved<T> {
  constructor(
    private readonly value: T,
    private readonly buffers: ArrayBuffer[],
  ) {}
  get [Piscina.transferableSymbol](): ArrayBuffer[] {
    return this.buffers;
  }
  get [Piscina.valueSymbol](): T {
    return this.value;
  }
}

function withTransfers<T extends object>(value: T, buffers: ArrayBuffer[]) {
  // Columns that arrived over a network share one buffer: a transfer list names each once.
  const unique = [...new Set(buffers)];
  // piscina's declared parameter type does not name its own Transferable protocol; Moved implements it.
  return Piscina.move(new Moved(value, unique) as unknown as ArrayBuffer);
}

export default async function handle(request: WorkerRequest): Promise<unknown> {
  // Rows another thread already handed over are held before any request runs (in-order rule);
  // a pass reads them inside the pass, which counts them.
  if (request.kind !== 'init' && request.kind !== 'pass') state?.mail?.read();
  switch (request.kind) {
    case 'init': {
      const mod = (await import(request.kernelModule)) as { createKernel(config: unknown): PassKernel };
      let kernel: PassKernel;
      try {
        kernel = mod.createKernel(request.kernelConfig);
      } catch (error) {
        throw kernelFailure(error);
      }
      const control = new WorkerControl(request.control);
      const store = new ExemplarStore();
      const faults = new FaultInjector(request.fault);
      const mail = request.mailPort
        ? new ThreadMail(request.mailPort, store, control, () => faults.transfer())
        : null;
      state = { control, kernel, store, faults, spare: null, mail };
      rehearseMoves();
      return { ok: true };
    }
    case 'insert': {
      const s = ready();
      s.faults.transfer();
      const dim = s.store.count > 0 ? s.store.dim : (request.fragments[0]?.dim ?? 0);
      if (request.fragments.some((f) => f.dim !== dim || f.ids.length !== f.count)) {
        throw new Error(
          `${PROTOCOL_ERROR_TAG}insert of fragments that do not match the ${dim} features held`,
        );
      }
      for (const f of request.fragments) {
        s.store.add(f);
        s.control.rowsMoved(f.count);
      }
      if (s.store.batchCount > COMPACT_ABOVE_BATCHES) s.store.compact(batchRowsFor(s.store.columns()[0]));
      return { held: s.store.count };
    }
    case 'extract': {
      const s = ready();
      s.faults.transfer();
      const total = request.counts.reduce((a, n) => a + n, 0);
      if (!request.counts.every((n) => Number.isInteger(n) && n >= 0) || total > s.store.count) {
        throw new Error(
          `${PROTOCOL_ERROR_TAG}extract ${request.counts.join('+')} from ${s.store.count} held`,
        );
      }
      const parts = request.counts.map((n) => {
        const part = s.store.take(n);
        s.control.rowsMoved(n);
        return part;
      });
      const buffers = parts.flat().flatMap(transferListOf);
      letGo(parts.flat().reduce((n, f) => n + sharedBytesOf(f), 0));
      const reply: ExtractReply = { parts, held: s.store.count };
      return withTransfers(reply, buffers);
    }
    case 'pass': {
      const s = ready();
      return s.mail ? s.mail.duringPass(() => pass(s, request)) : pass(s, request);
    }
    case 'calibrate': {
      const s = ready();
      try {
        return { rate: calibrate(s, request.params, request.ms) };
      } catch (error) {
        throw kernelFailure(error);
      }
    }
    case 'drop': {
      const s = ready();
      s.faults.transfer();
      const ids = s.store.ids();
      const processed = s.store.processedFlags();
      letGo(s.store.columns().reduce((n, f) => n + sharedBytesOf(f), 0));
      s.store.clear();
      return withTransfers({ ids, processed }, [ids.buffer as ArrayBuffer, processed.buffer as ArrayBuffer]);
    }
    case 'collect':
      return { collected: collectLetGo() };
    case 'ids': {
      const ids = ready().store.ids();
      return withTransfers({ ids }, [ids.buffer as ArrayBuffer]);
    }
  }
}

/** One pass request: count what is not yet counted, chunk by chunk (see `runPassLoop`). */
function pass(s: ThreadState, request: Extract<WorkerRequest, { kind: 'pass' }>): unknown {
  s.faults.passStarted(request.fresh);
  if (request.fresh) s.store.resetProcessed();
  // Rows handed over now carry this pass's flags: read the mail only once they are set.
  s.mail?.startPass();
  let length: number;
  try {
    length = s.kernel.accumulatorLength(request.params, s.store.dim);
  } catch (error) {
    throw kernelFailure(error);
  }
  const acc = accumulatorFor(s, length);
  const p = runPassLoop(
    s.store,
    s.kernel,
    request.params,
    acc,
    s.control,
    request.chunkRows,
    request.checkStop,
    s.faults.watchesPasses ? () => s.faults.chunkDone() : undefined,
    s.mail ?? undefined,
  );
  const reply: PassReply = {
    acc,
    processed: p.processed,
    interrupted: p.interrupted,
    elapsedMs: p.elapsedMs,
    held: s.store.count,
    remaining: p.interrupted ? s.store.unprocessed() : 0,
  };
  return withTransfers(reply, [acc.buffer as ArrayBuffer]);
}

/**
 * A zeroed accumulator for this pass. Each one leaves with its reply (transferred), so the
 * next is allocated as soon as the thread is idle: on this VM the first touch of fresh
 * memory costs ~3.5 ms/MB (Opt's 200 KB accumulator: ~0.7 ms), which a pass then no
 * longer waits for.
 */
function accumulatorFor(s: ThreadState, length: number): Float64Array {
  const acc = s.spare?.length === length ? s.spare : new Float64Array(length);
  s.spare = null;
  setImmediate(() => {
    if (state !== s || s.spare !== null) return;
    s.spare = new Float64Array(length);
    s.spare.fill(0); // every page written now: fresh pages may be mapped lazily
  });
  return acc;
}

/**
 * Unthrottled exemplars/s of this kernel on this thread. The first calls run before the JIT
 * has optimised the kernel (on a loaded machine that window alone was seen 50× slower), and
 * other work only ever slows a window down: so the kernel runs for `ms` in five windows after
 * a warm-up window, and the fastest window is the rate.
 */
function calibrate(s: ThreadState, params: Float64Array, ms: number): number {
  const cols: ExemplarColumns | undefined = s.store.columns()[0];
  if (!cols || cols.count === 0) return 0;
  const acc = new Float64Array(s.kernel.accumulatorLength(params, cols.dim));
  // Calls of the size a pass makes (chunkRowsFor: multiples of 16, about a quarter of a millisecond),
  // so a kernel's fixed cost per call weighs as it will.
  const block = Math.min(cols.count, 64);
  const windowMs = Math.max(5, ms / 5);
  let offset = 0;
  let best = 0;
  // As in a pass: one kernel session (`beginPass`) around the calls.
  s.kernel.beginPass?.(params, acc);
  try {
    for (let w = 0; w < 6; w++) {
      let rows = 0;
      const start = performance.now();
      while (performance.now() - start < windowMs) {
        const end = Math.min(offset + block, cols.count);
        s.kernel.accumulate(cols, offset, end, params, acc);
        s.control.beat(); // a big model's call may take long: it is progress, not a hang
        rows += end - offset;
        offset = end === cols.count ? 0 : end;
      }
      if (w > 0) best = Math.max(best, (rows / (performance.now() - start)) * 1000);
    }
  } finally {
    s.kernel.endPass?.(acc);
  }
  return best;
}
