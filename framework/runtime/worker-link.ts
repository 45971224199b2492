import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { WorkerFault } from './faults.ts';
import type { ExtractReply, PassReply } from './messages.ts';

/**
 * What the coordinator needs from one worker, wherever it runs. A thread worker
 * (ThreadWorker) is one implementation; a remote worker over TCP is meant to be another.
 * Every call is a request/response; the migration flag is out of band (shared memory
 * for threads).
 */
export interface WorkerLink {
  readonly index: number;
  readonly host: string;
  /** False once the worker failed (threw, exited, hung) or was closed. */
  readonly alive: boolean;
  /** Why it is not alive, if it failed. */
  readonly fault: WorkerFault | null;
  /** Hand over exemplars; the caller must not touch `fragments` afterwards. */
  insert(fragments: readonly ExemplarColumns[]): Promise<number>;
  /** Remove `counts[k]` exemplars for each destination k and return them. */
  extract(counts: readonly number[]): Promise<ExtractReply>;
  pass(params: Float64Array, fresh: boolean, chunkRows: number, checkMigration: boolean): Promise<PassReply>;
  calibrate(params: Float64Array, ms: number): Promise<number>;
  ids(): Promise<Int32Array>;
  /** Hand back ids and processed flags, and drop every exemplar. */
  drop(): Promise<{ ids: Int32Array; processed: Uint8Array }>;
  close(): Promise<void>;
}
