import type { MessagePort } from 'node:worker_threads';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { FaultPlan } from './faults.ts';

/** Requests a coordinator sends to a worker. The same shapes go over TCP later (as Arrow IPC + JSON). */
export type WorkerRequest =
  | {
      readonly kind: 'init';
      readonly worker: number;
      readonly host: string;
      readonly kernelModule: string;
      readonly kernelConfig: unknown;
      /** This worker's WorkerControl (stop flag, progress, rate limit). */
      readonly control: SharedArrayBuffer;
      /** The thread's end of its mail channel (hand-off orders in, hand-off reports out). */
      readonly mailPort?: MessagePort;
      /** A fault to inject (tests and `--inject-fault`). */
      readonly fault?: FaultPlan;
    }
  | { readonly kind: 'insert'; readonly fragments: readonly ExemplarColumns[] }
  | { readonly kind: 'extract'; readonly counts: readonly number[] }
  | {
      readonly kind: 'pass';
      /** Start of a new pass: clear the processed flags first. False to resume an interrupted pass. */
      readonly fresh: boolean;
      readonly params: Float64Array;
      readonly chunkRows: number;
      readonly checkStop: boolean;
    }
  | { readonly kind: 'calibrate'; readonly params: Float64Array; readonly ms: number }
  | { readonly kind: 'ids' }
  /** Give back ids and processed flags and drop every exemplar (a drain that cannot meet its deadline). */
  | { readonly kind: 'drop' }
  /** Collect the garbage of shared rows that left since the last collection, if enough did. */
  | { readonly kind: 'collect' };

export interface PassReply {
  readonly acc: Float64Array;
  readonly processed: number;
  readonly interrupted: boolean;
  readonly elapsedMs: number;
  /** Exemplars held and still unprocessed after this call. */
  readonly held: number;
  readonly remaining: number;
  /**
   * Ms the pass waited to begin for rows a move had just brought in (an agent answers a
   * move before its thread has taken the rows in: worker-slot.ts). Absent: it did not wait.
   */
  readonly waitedForRowsMs?: number;
}

export interface ExtractReply {
  /** One list of fragments per requested count, in the same order. */
  readonly parts: readonly (readonly ExemplarColumns[])[];
  readonly held: number;
}

/**
 * Mail between a thread worker and its link, outside the request queue: it is read at the
 * thread's next chunk boundary (or at once when the thread is idle), so rows can move while
 * the pass goes on. See `ThreadWorker.handOff`.
 */
export type MailToThread =
  /** Rows for worker `to` go on `port`; bump `mail` (its WorkerControl) after each. */
  | {
      readonly kind: 'outbox';
      readonly to: number;
      readonly port: MessagePort;
      readonly mail: SharedArrayBuffer;
    }
  /** Rows from worker `from` arrive on `port`. */
  | { readonly kind: 'inbox'; readonly from: number; readonly port: MessagePort }
  /** Give `count` rows to each `to`, straight to its inbox. */
  | {
      readonly kind: 'handOff';
      readonly id: number;
      readonly parts: readonly { to: number; count: number }[];
    };

export type MailFromThread =
  | {
      readonly kind: 'handedOff';
      readonly id: number;
      /** Exemplars the sender holds afterwards. */
      readonly held: number;
      /** Rows and bytes posted to each part's receiver. */
      readonly rows: readonly number[];
      readonly bytes: number;
      /** When the last rows were posted (`monotonicMs`). */
      readonly at: number;
    }
  /** The order could not be carried out (the sender holds fewer rows): nothing moved. */
  | { readonly kind: 'handOffRefused'; readonly id: number; readonly message: string }
  | {
      readonly kind: 'absorbed';
      readonly id: number;
      readonly rows: number;
      /** Of those, rows not yet counted in the pass they were handed over in. */
      readonly unprocessed: number;
      /** Taken in by a running pass, which then counts them; false: taken in while idle. */
      readonly inPass: boolean;
      readonly held: number;
      /** When the rows were in the store (`monotonicMs`). */
      readonly at: number;
    };

/** Rows one thread posts straight to another. */
export interface HandedRows {
  readonly id: number;
  readonly fragments: readonly ExemplarColumns[];
}
