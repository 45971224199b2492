/**
 * Pre-faulted receive buffers ("slabs") for exemplar bodies arriving over TCP.
 *
 * Why: an exemplar body received from the network has to be put into memory the agent keeps
 * (its worker holds the rows in place). Memory the process has never touched is slow to
 * write the first time: every 4 KiB page faults in, and on the VMs this was measured on
 * that costs 2–4 ms per MB — more than the loopback transfer itself (~1 ms per MB). So an
 * agent touches the memory it may receive into *before* a move, while it is otherwise
 * waiting, and a move's frames are assembled straight into those warm slabs.
 *
 * The cost is memory: the slabs are resident while they wait. The pool is filled to a
 * budget the owner sets (the agent: as much as it was first given, within --max-memory),
 * a slab that is handed out is not replaced, and a slab whose rows were sent away comes
 * back (`recycle`) rather than being freed and faulted in again elsewhere.
 *
 * A slab is a whole SharedArrayBuffer holding one frame: the rows decoded from it are views
 * of it, and a worker thread takes them by sharing that one buffer (framework/agent/
 * shared-bodies.ts says why shared).
 */

/** One stored exemplar batch is about 1 MiB (rows.ts BATCH_BYTES); its IPC frame adds ~1 KB. */
export const SLAB_BYTES = (1 << 20) + (16 << 10);
/**
 * Smaller frames are not worth a slab: the unused rest of it would stay resident with the
 * rows. Only the last, cut batch of a move is usually this small.
 */
export const MIN_POOLED_BYTES = SLAB_BYTES >> 2;
/**
 * Pages touched per turn of the event loop while filling, so I/O is never held up long: one
 * slab (~1 MB, 2–4 ms of page faults on the VMs measured). At 4 MB a step, a receiving
 * agent's answers and a move's frames waited behind steps of ~14 ms.
 */
const FILL_STEP_BYTES = SLAB_BYTES;
const PAGE = 4096;

export interface PoolStats {
  /** Bytes ready in the pool now. */
  readonly pooledBytes: number;
  /** Bytes this pool has touched in (allocated and faulted) since it was made. */
  readonly faultedBytes: number;
  /** Frames placed in a slab, and data frames that found none ready (fresh memory). */
  readonly hits: number;
  readonly misses: number;
}

export class ReceivePool {
  private readonly slabs: SharedArrayBuffer[] = [];
  private budgetSlabs = 0;
  private filling = false;
  private closed = false;
  private faulted = 0;
  private hits = 0;
  private misses = 0;
  /** A budget was ever set: from then on a frame that finds no slab counts as a miss. */
  private budgeted = false;
  /** Callers of `filled()` waiting for the background fill to end. */
  private waiting: (() => void)[] = [];

  constructor(
    readonly slabBytes: number = SLAB_BYTES,
    /** Runs `step` later, letting I/O in between (tests pass a synchronous one). */
    private readonly defer: (step: () => void) => void = (step) => setImmediate(step),
  ) {
    if (!(Number.isInteger(slabBytes) && slabBytes >= PAGE))
      throw new RangeError(`slab of ${slabBytes} bytes`);
  }

  /**
   * Keep up to `bytes` in the pool (whole slabs, rounded up). Filling happens in steps
   * in the background; a smaller budget releases the extra slabs at once.
   */
  setBudget(bytes: number): void {
    if (this.closed) return;
    this.budgetSlabs = Math.max(0, Math.ceil(bytes / this.slabBytes));
    if (this.budgetSlabs > 0) this.budgeted = true;
    if (this.slabs.length > this.budgetSlabs) this.slabs.length = this.budgetSlabs;
    this.fill();
  }

  /** Resolves once the pool holds its budget (or is closed): the background fill is over. */
  filled(): Promise<void> {
    if (this.closed || (!this.filling && this.slabs.length >= this.budgetSlabs)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  get budgetBytes(): number {
    return this.budgetSlabs * this.slabBytes;
  }

  /**
   * A warm buffer for a frame body of `length` bytes, or null (too large or too small for a
   * slab, or none ready): the caller then allocates fresh memory. The view starts at offset
   * 0 of a slab nothing else uses. Taking a slab lowers the budget by one: it is not refilled.
   */
  take(length: number): Uint8Array | null {
    if (length > this.slabBytes || length < MIN_POOLED_BYTES) return null;
    const slab = this.slabs.pop();
    if (slab === undefined) {
      if (this.budgeted) this.misses++;
      return null;
    }
    this.hits++;
    this.budgetSlabs = Math.max(0, this.budgetSlabs - 1);
    return new Uint8Array(slab, 0, length);
  }

  /**
   * A buffer whose contents are no longer needed (its rows were sent and confirmed). It
   * joins the pool, warm, if it is a slab and the pool has room under `limitBytes`.
   */
  recycle(buffer: ArrayBufferLike, limitBytes: number): boolean {
    if (this.closed || !(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== this.slabBytes)
      return false;
    if (this.slabs.includes(buffer)) return false;
    if ((this.slabs.length + 1) * this.slabBytes > limitBytes) return false;
    this.slabs.push(buffer);
    this.budgetSlabs = Math.max(this.budgetSlabs, this.slabs.length);
    return true;
  }

  stats(): PoolStats {
    return {
      pooledBytes: this.slabs.length * this.slabBytes,
      faultedBytes: this.faulted,
      hits: this.hits,
      misses: this.misses,
    };
  }

  /** Release every slab; nothing is filled any more. */
  close(): void {
    this.closed = true;
    this.budgetSlabs = 0;
    this.slabs.length = 0;
    this.wake();
  }

  private fill(): void {
    if (this.filling) return;
    if (this.closed || this.slabs.length >= this.budgetSlabs) {
      this.wake();
      return;
    }
    this.filling = true;
    this.defer(() => {
      this.filling = false;
      let stepBytes = 0;
      while (!this.closed && this.slabs.length < this.budgetSlabs && stepBytes < FILL_STEP_BYTES) {
        this.slabs.push(touched(this.slabBytes));
        this.faulted += this.slabBytes;
        stepBytes += this.slabBytes;
      }
      this.fill();
    });
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** A new buffer with every page written once, so none faults in later. */
function touched(bytes: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(bytes);
  // A fresh ArrayBuffer is zeroed pages the kernel has not mapped yet: one write per page maps them.
  const u8 = new Uint8Array(buffer);
  for (let i = 0; i < bytes; i += PAGE) u8[i] = 0;
  return buffer;
}
