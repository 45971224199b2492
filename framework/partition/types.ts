/** What the partitioner knows about one worker (one host) when it recomputes the partition. */
export interface WorkerCapacity {
  /** Relative speed, higher is faster: declared rating at first, then refined from measured throughput. */
  readonly speed: number;
  /** Fraction of its speed the host currently gives us, in (0, 1] (from `load` events). */
  readonly load: number;
  /** False when vacated (or lost): it must end with no exemplar and receive none. */
  readonly available: boolean;
  /** The most exemplars it may hold (its memory cap, e.g. an agent's --max-memory); none if absent. */
  readonly maxCount?: number;
}

/** Move `count` exemplars from worker `from` to worker `to` (indices into the worker list). */
export interface Transfer {
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

/** A transfer plan: the moves that turn the current holdings into the target shares. */
export interface TransferPlan {
  readonly targets: readonly number[];
  readonly transfers: readonly Transfer[];
  /** Sum of `count` over transfers. */
  readonly moved: number;
}
