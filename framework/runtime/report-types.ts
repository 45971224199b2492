/** One redistribution as the run report records it. Times are ms since the run started. */
/** Why a redistribution moved data (see `RedistributionRecord.reason`). */
export type RecordReason = 'evacuate' | 'available' | 'load' | 'gain';

export interface RedistributionRecord {
  readonly index: number;
  /** Sequence numbers of the events it applied. */
  readonly events: readonly number[];
  /**
   * When the request it answers was received; both measures start here. For an evacuation,
   * the earliest standing vacate of the hosts it emptied (also one applied earlier whose data
   * had nowhere to go until now); otherwise the earliest of the events it applied.
   */
  readonly triggeredAt: number;
  readonly startedAt: number;
  /** Ended when the vacated workers held no exemplar; null when no host was vacated. */
  obtrusivenessMs: number | null;
  /**
   * Ended when every remaining worker computed again; null until then. A move made between
   * passes (the app working between them) ends when the rows are in their receivers' memory
   * (a hand-off: taken in), plus any time the next pass then waited for them: the app's own
   * work between the passes is not the move's.
   */
  migrationMs: number | null;
  /** Exemplars that went from worker to worker. */
  readonly exemplarsMoved: number;
  /**
   * Exemplars dropped by a vacated worker and reloaded from the data source elsewhere
   * instead, to meet a vacate's deadline (per host in `deadlines`); not in `exemplarsMoved`.
   */
  readonly exemplarsReloaded: number;
  readonly bytesMoved: number;
  readonly transfers: number;
  /** Exemplars held by each worker after the move, in host order. */
  readonly countsAfter: readonly number[];
  /**
   * Why it moved: "evacuate" (a vacated host held data); "available" or "load" (those events
   * made a faster partition: a host back or joined, a host's load changed); "gain" (the measured
   * speeds alone did).
   */
  readonly reason: RecordReason;
  /**
   * Vacates with a deadline it applied: whether the host was empty in time, and how many
   * exemplars were dropped there and reloaded from the source because a move would not be.
   */
  readonly deadlines: readonly { host: string; deadlineMs: number; met: boolean; reloaded: number }[];
  /**
   * The rows were handed from worker to worker while every worker kept computing (threads):
   * nobody stopped, and `migrationMs` ends when the last receiver had taken its rows in.
   */
  readonly whileComputing?: boolean;
  /**
   * The rows were handed from worker to worker between two passes (threads; the vacate came
   * while the app worked between them): the next pass started once they had moved.
   */
  readonly betweenPasses?: boolean;
}

/** Per-worker figures for the report. */
export interface WorkerRecord {
  readonly host: string;
  readonly declaredSpeed: number;
  /** Emulated cap in exemplars/s at full load (null when not emulating). */
  readonly emulatedRate: number | null;
  /**
   * Measured throughput at full load (divided by the host's load), exemplars/s; null if never
   * measured. ADM smooths it over passes (its speed estimate); the plain build gives its last pass's.
   */
  readonly measuredRate: number | null;
  readonly load: number;
  readonly available: boolean;
  readonly exemplars: number;
  readonly exemplarsProcessed: number;
}

/** A state an actor entered, for inspection. */
export interface StateTransition {
  readonly at: number;
  readonly actor: string;
  readonly state: string;
}
