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
  | { readonly kind: 'drop' };

export interface PassReply {
  readonly acc: Float64Array;
  readonly processed: number;
  readonly interrupted: boolean;
  readonly elapsedMs: number;
  /** Exemplars held and still unprocessed after this call. */
  readonly held: number;
  readonly remaining: number;
}

export interface ExtractReply {
  /** One list of fragments per requested count, in the same order. */
  readonly parts: readonly (readonly ExemplarColumns[])[];
  readonly held: number;
}
