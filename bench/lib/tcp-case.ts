/**
 * The data of `npm run bench -- tcp` (bench/tcp.ts): its fixed settings, one sample per
 * timed job, and a case's row of medians (`summarise`, pure: no I/O).
 */
import type { LowerBounds } from './lower-bounds.ts';
import type { RawOrder } from './raw-sends.ts';
import { median, ratio, sig, spread } from './stats.ts';

export const DIM = 784;
/** Opt's network on MNIST-sized exemplars, as in `redistribution`: the passes only frame the move. */
export const HIDDEN = 32;
export const CLASSES = 10;
/** Targets of the issue: ADM move ÷ raw send. */
export const TARGET_20MB = 1.5;
export const TARGET_100MB = 1.2;
/** An agent still ending the previous job refuses the next one for a moment: retry this long. */
export const BUSY_RETRY_MS = 10_000;
/**
 * Pause after a job closes before the next raw send or job: the agents are still ending the
 * job (threads terminated, tens of MB freed) and would share the 2 cores with it.
 */
export const SETTLE_MS = 500;
/**
 * Unmeasured jobs per case before the timed ones. The first move of a case is 3–6 times
 * slower than the rest (fresh agents: code not yet optimised, the kernel's socket memory not
 * yet warm); the raw connection kept for the case is warmed by one unmeasured send.
 */
export const WARM_UP_JOBS = 1;

export type Wire = 'tcp' | 'tls';

export interface Case {
  readonly wire: Wire;
  /** Bytes a0 holds and the vacate moves, in MB (the label: checked against what moved). */
  readonly sizeMB: number;
}

export interface Sample {
  readonly wire: Wire;
  readonly sizeMB: number;
  readonly rep: number;
  /** Exemplars and bytes a0 held when it was vacated: what must move. */
  readonly heldExemplars: number;
  readonly heldBytes: number;
  readonly exemplarsMoved: number;
  readonly bytesMoved: number;
  /** bytesMoved ≠ heldBytes, or exemplarsMoved ≠ heldExemplars. */
  readonly mismatch: boolean;
  /** The job's only redistribution was this evacuation (no rebalance moved data too). */
  readonly onlyEvacuation: boolean;
  readonly reason: string;
  /** Event receipt → every remaining worker computing again (the RedistributionRecord's). */
  readonly migrationMs: number;
  /** Event receipt → a0 empty (a1 reported every row in its memory: every batch streamed to it). */
  readonly obtrusivenessMs: number | null;
  /** Event receipt → redistribution start (the vacate came between passes: next to nothing). */
  readonly deferralMs: number;
  /** Redistribution start → a0 empty: the stream a0 → a1, with the plan's way there and a1's reply. */
  readonly hop1Ms: number | null;
  /**
   * a0 empty → every worker computing: the pass resuming, and a1's thread taking the rows in
   * (a1 answers before it has: the part of that its pass waited for is counted here).
   */
  readonly hop2Ms: number | null;
  /**
   * Raw sends of `bytesMoved` bytes (TCP or TLS as `wire`) right before this job and after it,
   * each over a connection opened for it that has carried only a 1 KB exchange: the state of
   * the connection a move streams over (dialled when a0's worker began its first pass, then
   * a hello and a welcome).
   */
  readonly rawBeforeMs: number;
  readonly rawAfterMs: number;
  /** The mean of the two. */
  readonly rawMs: number;
  /** migrationMs ÷ rawMs. */
  readonly ratio: number | null;
  /** The same sends over the case's kept connection, which has just carried the same bytes. */
  readonly rawWarmBeforeMs: number;
  readonly rawWarmAfterMs: number;
  readonly rawWarmMs: number;
  /**
   * Which of the two was timed first, before and after the job: they alternate between
   * repetitions, so neither connection's figures are always those of the second send.
   */
  readonly rawOrder: readonly [RawOrder, RawOrder];
  /** a1's resident memory right before the vacate (its rows, its receive pool, Node itself), MB. */
  readonly receiverRssMB: number | null;
  /** CPU ms from the vacate until its data had moved (lib/thread-cpu.ts). */
  readonly moveCpu: MoveCpu;
  /** Main-thread CPU ms of the raw sender (this process) in the timed raw sends, the mean of the two. */
  readonly rawSenderCpuMs: number | null;
  /** The same for the raw receiver's main thread. */
  readonly rawReceiverCpuMs: number | null;
  /** Both, for the sends over the kept connection. */
  readonly rawWarmSenderCpuMs: number | null;
  readonly rawWarmReceiverCpuMs: number | null;
}

/** Main-thread CPU of each process in a move, vacate → data moved (null without /proc). */
export interface MoveCpu {
  readonly sender: number | null;
  readonly receiver: number | null;
  readonly coordinator: number | null;
}

export interface CaseBounds {
  readonly wire: Wire;
  readonly sizeMB: number;
  /** In-process copies of the bytes moved (lib/lower-bounds.ts), for where the time goes. */
  readonly lowerBounds: LowerBounds;
}

export interface Row {
  readonly wire: Wire;
  readonly sizeMB: number;
  readonly n: number;
  readonly movedMB: number;
  readonly migrationMs: number | null;
  readonly migrationMinMs: number | null;
  readonly migrationMaxMs: number | null;
  readonly deferralMs: number | null;
  readonly hop1Ms: number | null;
  readonly hop2Ms: number | null;
  readonly rawMs: number | null;
  readonly rawMinMs: number | null;
  readonly rawMaxMs: number | null;
  /** median(migration) ÷ median(raw). */
  readonly ratio: number | null;
  readonly ratioMin: number | null;
  readonly ratioMax: number | null;
  /** The median of the per-repetition ratios (each job against its own two raw sends). */
  readonly ratioPaired: number | null;
  /** Raw sends over the kept connection that has just carried the same bytes, and the ratio against them. */
  readonly rawWarmMs: number | null;
  readonly ratioWarmConnection: number | null;
  readonly hop1Ratio: number | null;
  readonly hop2Ratio: number | null;
  readonly memcpyWarmMs: number | null;
  readonly memcpyFreshMs: number | null;
  readonly receiverRssMB: number | null;
  /** Vacate → a0 empty (obtrusiveness): about the window the move's CPU is measured over. */
  readonly movedMs: number | null;
  readonly moveSenderCpuMs: number | null;
  readonly moveReceiverCpuMs: number | null;
  readonly moveCoordinatorCpuMs: number | null;
  readonly rawSenderCpuMs: number | null;
  readonly rawReceiverCpuMs: number | null;
  readonly rawWarmSenderCpuMs: number | null;
  readonly rawWarmReceiverCpuMs: number | null;
}

/** A row's wire, as the tables name it. */
export function wireName(wire: Wire): string {
  return wire === 'tcp' ? 'TCP' : 'TLS 1.3 (PSK)';
}

export function meanOf(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : (a + b) / 2;
}

function finiteMedian(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : null;
}

/** A case's row: medians of its samples, and its copies' lower bounds. */
export function summarise(c: Case, s: readonly Sample[], lb: LowerBounds | null): Row {
  const adm = spread(s.map((x) => x.migrationMs));
  // Every raw send, before and after the jobs.
  const raw = spread(s.flatMap((x) => [x.rawBeforeMs, x.rawAfterMs]));
  const ratios = spread(s.map((x) => x.ratio ?? Number.NaN));
  const hop1 = finiteMedian(s.map((x) => x.hop1Ms));
  const hop2 = finiteMedian(s.map((x) => x.hop2Ms));
  const rawMs = raw.n ? raw.median : null;
  const rawWarmMs = finiteMedian(s.flatMap((x) => [x.rawWarmBeforeMs, x.rawWarmAfterMs]));
  return {
    wire: c.wire,
    sizeMB: c.sizeMB,
    n: s.length,
    movedMB: sig(median(s.map((x) => x.bytesMoved)) / 1e6, 4)!,
    migrationMs: adm.n ? sig(adm.median) : null,
    migrationMinMs: adm.n ? sig(adm.min) : null,
    migrationMaxMs: adm.n ? sig(adm.max) : null,
    deferralMs: sig(finiteMedian(s.map((x) => x.deferralMs)), 3),
    hop1Ms: sig(hop1),
    hop2Ms: sig(hop2),
    rawMs: sig(rawMs),
    rawMinMs: raw.n ? sig(raw.min) : null,
    rawMaxMs: raw.n ? sig(raw.max) : null,
    ratio: sig(ratio(adm.n ? adm.median : null, rawMs), 3),
    ratioMin: ratios.n ? sig(ratios.min, 3) : null,
    ratioMax: ratios.n ? sig(ratios.max, 3) : null,
    ratioPaired: ratios.n ? sig(ratios.median, 3) : null,
    rawWarmMs: sig(rawWarmMs),
    ratioWarmConnection: sig(ratio(adm.n ? adm.median : null, rawWarmMs), 3),
    hop1Ratio: sig(ratio(hop1, rawMs), 3),
    hop2Ratio: sig(ratio(hop2, rawMs), 3),
    memcpyWarmMs: sig(lb?.memcpyWarmMs ?? null, 3),
    memcpyFreshMs: sig(lb?.memcpyFreshMs ?? null, 3),
    receiverRssMB: sig(finiteMedian(s.map((x) => x.receiverRssMB)), 3),
    movedMs: sig(finiteMedian(s.map((x) => x.obtrusivenessMs))),
    moveSenderCpuMs: sig(finiteMedian(s.map((x) => x.moveCpu.sender))),
    moveReceiverCpuMs: sig(finiteMedian(s.map((x) => x.moveCpu.receiver))),
    moveCoordinatorCpuMs: sig(finiteMedian(s.map((x) => x.moveCpu.coordinator))),
    rawSenderCpuMs: sig(finiteMedian(s.map((x) => x.rawSenderCpuMs))),
    rawReceiverCpuMs: sig(finiteMedian(s.map((x) => x.rawReceiverCpuMs))),
    rawWarmSenderCpuMs: sig(finiteMedian(s.map((x) => x.rawWarmSenderCpuMs))),
    rawWarmReceiverCpuMs: sig(finiteMedian(s.map((x) => x.rawWarmReceiverCpuMs))),
  };
}
