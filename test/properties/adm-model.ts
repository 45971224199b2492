/**
 * A pure, in-memory model of the ADM protocol, for property tests.
 *
 * It composes the REAL pure modules — `EventQueue`, `SpeedEstimator`, `partitionBySpeed`,
 * `shouldRedistribute`, `planTransfers` — exactly as `framework/runtime/adm-job.ts` does
 * (`computeSlice()`, `redistribute()`, `send()`), and drives them with a synchronous mirror of
 * the transitions of `framework/machine/pass-machine.ts`:
 *
 *   checking        → redistributing if events are pending, else computing
 *   computing       → (a non-rejected event while running: requestStop, i.e. the migration flag)
 *                     slice complete → done, else → redistributing
 *   redistributing  → events pending → redistributing (again); noHostAvailable → waitingForHost;
 *                     else → computing
 *   waitingForHost  → a non-rejected event → redistributing
 *
 * Only the threads are simulated: each worker is an array of exemplar ids with a parallel array of
 * per-exemplar `processed` flags (as in `ExemplarStore`). A slice counts unprocessed exemplars in
 * store order (as `runPassLoop`), a random number of them when the migration flag is raised during
 * the slice; transfers cut from the END of the sender, as `ExemplarStore.take` does, and move the
 * flags with the ids. The time a slice takes is `count / (trueSpeed × load)`, so measured speeds
 * are fixed per host (the load the job knows is the load the host runs at, as with emulated speeds).
 *
 * Events come from a `Scenario`: a list of steps, one consumed per slice. A step's `slice` events
 * arrive while the workers compute (several at once; invalid ones too), its `move` events arrive
 * between the drain and the end of the data move of the redistribution they cause, its `after`
 * events arrive between passes. While every host is vacated the job waits and the next steps'
 * events arrive; when the steps run out, `available(returning)` arrives.
 *
 * After every slice, every redistribution and every pass the model checks its invariants and
 * throws `ModelViolation` with a description and the trace of what happened.
 */
import { type Actor, createActor, fromPromise, toPromise } from 'xstate';
import { EventQueue } from '../../framework/events/event-queue.ts';
import type { EventOutcome, EventRecord, SchedulerEvent } from '../../framework/events/types.ts';
import {
  type PassOutput,
  passMachine,
  type RedistributeResult,
  type SliceResult,
} from '../../framework/machine/pass-machine.ts';
import { NoHostAvailable } from '../../framework/partition/errors.ts';
import { SpeedEstimator } from '../../framework/partition/speed-estimator.ts';
import { partitionBySpeed } from '../../framework/partition/target-shares.ts';
import {
  DEFAULT_MIN_GAIN,
  estimatePassTime,
  planTransfers,
  shouldRedistribute,
} from '../../framework/partition/transfer-plan.ts';
import type { Transfer, WorkerCapacity } from '../../framework/partition/types.ts';

/** An event as the scheduler (or untyped code) may send it: valid or not. */
export type RawEvent =
  | SchedulerEvent
  | { readonly type: string; readonly host?: unknown; readonly fraction?: unknown }
  | null;

export interface Step {
  /** Arrive while the workers compute (or, while every host is vacated, while the job waits). */
  readonly slice: readonly RawEvent[];
  /** Per worker: the fraction of its unprocessed exemplars it counts before it sees the flag. */
  readonly progress: readonly number[];
  /** A worker that counted all it had still reports `interrupted` (with `remaining = 0`). */
  readonly stopAtEnd: boolean;
  /** Arrive between the drain and the end of the move of the redistribution this step causes. */
  readonly move: readonly RawEvent[];
  /** Arrive between passes, if the pass ends on this step's slice. */
  readonly after: readonly RawEvent[];
  /** Seed of the order in which fragments reach their receivers. */
  readonly delivery: number;
}

export interface Scenario {
  /** Declared speed rating per host (`HostSpec.speed`); the number of hosts is its length. */
  readonly declared: readonly number[];
  /** The real speed of each host in exemplars/s at load 1 (fixed: measured speeds are fixed). */
  readonly trueSpeeds: readonly number[];
  /** Number of training exemplars. */
  readonly total: number;
  /** `JobOptions.minGain` (undefined: the default, 5 %). */
  readonly minGain: number | undefined;
  readonly steps: readonly Step[];
  /** The host that comes back when every host is vacated and the steps have run out. */
  readonly returning: number;
  /** Convergence phase: passes with no event between two triggers (≥ 1). */
  readonly quietPasses: number;
}

export interface RunStats {
  passes: number;
  slices: number;
  interruptedSlices: number;
  redistributions: number;
  moves: number;
  exemplarsMoved: number;
  skippedSmallGain: number;
  noHostAvailable: number;
  eventsDuringMove: number;
  eventsWhileWaiting: number;
  /** Times the pass machine entered `waitingForHost` with an event pending (the known bug). */
  waitedWithEventPending: number;
  rejected: number;
  superseded: number;
  applied: number;
  /** Fewest hosts available after any drain. */
  minAvailable: number;
  /** Some redistribution left exactly one available host holding everything. */
  oneHostHoldsAll: boolean;
  /** Rounds of the convergence phase until a trigger moved nothing. */
  convergenceRounds: number;
  /** At the fixpoint every available host had been measured (the true-speed bound was checked). */
  convergedOnTrueSpeeds: boolean;
}

export interface ModelOptions {
  /**
   * Fail when the pass machine enters `waitingForHost` with an event already pending (known bug,
   * see README.md in this folder). Off: the model goes on as if the scheduler sent another event.
   */
  readonly strictWaiting?: boolean;
}

export class ModelViolation extends Error {
  override readonly name = 'ModelViolation';
}

/** Pseudo-gradient of exemplar `id`: a positive component and a mixed-sign one. */
export function pseudoGradient(id: number): [number, number] {
  const u = fract(Math.sin(id * 12.9898 + 78.233) * 43758.5453);
  const v = fract(Math.sin(id * 39.3467 + 11.135) * 24634.6345);
  return [0.5 + u, (v - 0.5) * 1000 + id * 1e-3];
}

function fract(x: number): number {
  return x - Math.floor(x);
}

interface Reference {
  /** Σ g(id) summed in id order. */
  readonly sum: Float64Array;
  /** Σ |g(id)|: the scale of the relative comparison. */
  readonly scale: Float64Array;
  readonly grads: Float64Array;
}

const referenceCache = new Map<number, Reference>();

export function reference(total: number): Reference {
  let ref = referenceCache.get(total);
  if (ref) return ref;
  const grads = new Float64Array(total * 2);
  const sum = new Float64Array(2);
  const scale = new Float64Array(2);
  for (let id = 0; id < total; id++) {
    const g = pseudoGradient(id);
    for (let c = 0; c < 2; c++) {
      grads[id * 2 + c] = g[c];
      sum[c] += g[c];
      scale[c] += Math.abs(g[c]);
    }
  }
  ref = { sum, scale, grads };
  if (referenceCache.size < 4096) referenceCache.set(total, ref);
  return ref;
}

/** What `checkEvent` must say of a generated event (the model's own classification). */
export function isValidEvent(e: RawEvent, hosts: number): e is SchedulerEvent {
  if (e === null || typeof e !== 'object') return false;
  const host = e.host;
  if (typeof host !== 'string' || !/^h\d+$/.test(host) || Number(host.slice(1)) >= hosts) return false;
  if (e.type === 'vacate' || e.type === 'available') return true;
  if (e.type !== 'load') return false;
  const f = (e as { fraction?: unknown }).fraction;
  return typeof f === 'number' && Number.isFinite(f) && f > 0 && f <= 1;
}

interface SimWorker {
  ids: number[];
  processed: number[];
}

/** The host state a sequence of valid events leaves, applied one by one (the queue's contract). */
interface RefHostState {
  available: boolean;
  load: number;
}

const NO_STEP: Step = { slice: [], progress: [], stopAtEnd: false, move: [], after: [], delivery: 0 };

export class AdmModel {
  readonly names: string[];
  readonly queue: EventQueue;
  readonly estimator: SpeedEstimator;
  readonly available: boolean[];
  readonly held: number[];
  readonly workers: SimWorker[];
  readonly stats: RunStats;
  private readonly ref: Reference;
  private readonly minGain: number | undefined;
  private readonly trace: string[] = [];
  private now = 0;
  private migrationRequested = false;
  /** Pass-machine state: null between passes. */
  private machine: 'computing' | 'redistributing' | 'waiting' | null = null;
  /** The real pass machine while `passWithMachine` runs. */
  private actor: Actor<typeof passMachine> | null = null;
  private cursor = 0;
  private step: Step = NO_STEP;
  private moveEventsSent = true;
  /** Events of a burst delivered while the redistribution the burst's first event started runs. */
  private burst: readonly RawEvent[] = [];
  /** Per-exemplar count in the current pass, and whether the pass has started counting. */
  private readonly passCount: Uint8Array;
  private passCounting = false;
  /** Sequential reference of the host states (every valid event applied in order). */
  private readonly refStates: RefHostState[];
  /** Outcomes already seen, by seq: an outcome once set never changes. */
  private readonly outcomes = new Map<number, string>();
  /** seq → validity, as the model classifies each event it sent. */
  private readonly sent: { raw: RawEvent; valid: boolean }[] = [];

  constructor(
    readonly scenario: Scenario,
    readonly options: ModelOptions = {},
  ) {
    const n = scenario.declared.length;
    this.names = scenario.declared.map((_, i) => `h${i}`);
    this.minGain = scenario.minGain;
    // AdmJob: new EventQueue(names); new SpeedEstimator(declared speeds); all available.
    this.queue = new EventQueue(this.names, { recordLimit: Number.POSITIVE_INFINITY });
    this.estimator = new SpeedEstimator(scenario.declared);
    this.available = this.names.map(() => true);
    this.refStates = this.names.map(() => ({ available: true, load: 1 }));
    // AdmJob.start: partitionBySpeed(count, declared speeds at load 1, all available);
    // startWorkers hands worker i the next shares[i] rows in order.
    this.held = partitionBySpeed(
      scenario.total,
      scenario.declared.map((speed) => ({ speed, load: 1, available: true })),
    );
    let next = 0;
    this.workers = this.held.map((count) => {
      const ids = Array.from({ length: count }, () => next++);
      return { ids, processed: ids.map(() => 0) };
    });
    this.passCount = new Uint8Array(scenario.total);
    this.ref = reference(scenario.total);
    this.stats = {
      passes: 0,
      slices: 0,
      interruptedSlices: 0,
      redistributions: 0,
      moves: 0,
      exemplarsMoved: 0,
      skippedSmallGain: 0,
      noHostAvailable: 0,
      eventsDuringMove: 0,
      eventsWhileWaiting: 0,
      waitedWithEventPending: 0,
      rejected: 0,
      superseded: 0,
      applied: 0,
      minAvailable: n,
      oneHostHoldsAll: false,
      convergenceRounds: 0,
      convergedOnTrueSpeeds: false,
    };
    this.checkHoldings('start');
  }

  /** Run every step, then the convergence phase. Throws `ModelViolation` on the first broken invariant. */
  run(): RunStats {
    for (const _ of this.script()) this.pass();
    return this.stats;
  }

  /** The same with the REAL pass machine (xstate) driving `computeSlice` / `redistribute`. */
  async runWithMachine(): Promise<RunStats> {
    for (const _ of this.script()) await this.passWithMachine();
    return this.stats;
  }

  /** The whole run; each `yield` asks the driver for one pass. */
  private *script(): Generator<void, void, void> {
    while (this.cursor < this.scenario.steps.length) {
      yield;
      if (this.step.after.length) this.sendAll(this.step.after, 'between passes');
      this.step = NO_STEP;
    }
    yield* this.converge();
  }

  // ---------------------------------------------------------------------------------------------
  // AdmJob.send
  // ---------------------------------------------------------------------------------------------

  send(raw: RawEvent, where: string): EventRecord {
    this.now += 1;
    const valid = isValidEvent(raw, this.names.length);
    const record = this.queue.receive(raw as SchedulerEvent, this.now);
    this.sent.push({ raw, valid });
    this.log(`send ${JSON.stringify(raw)} (${where}) → seq ${record.seq}`);
    if (record.seq !== this.sent.length - 1)
      this.fail(`event got seq ${record.seq}, expected ${this.sent.length - 1}`);
    const rejected = record.outcome?.status === 'rejected';
    if (rejected === valid) {
      this.fail(`event ${JSON.stringify(raw)} was ${rejected ? 'rejected' : 'accepted'} by the queue`);
    }
    if (rejected) {
      this.stats.rejected++;
      this.noteOutcome(record);
      return record;
    }
    const e = raw as SchedulerEvent;
    const r = this.refStates[Number(e.host.slice(1))];
    if (e.type === 'vacate') r.available = false;
    else if (e.type === 'available') r.available = true;
    else r.load = e.fraction;
    // `this.current?.send({ type: 'scheduler.event' })`: the pass machine reacts in `computing.running`
    // (requestStop) and in `waitingForHost` (→ redistributing); `redistributing` ignores it.
    if (this.actor !== null) this.actor.send({ type: 'scheduler.event' });
    else if (this.machine === 'computing') this.migrationRequested = true;
    return record;
  }

  private sendAll(events: readonly RawEvent[], where: string): number {
    let accepted = 0;
    for (const e of events) if (this.send(e, where).outcome?.status !== 'rejected') accepted++;
    return accepted;
  }

  // ---------------------------------------------------------------------------------------------
  // AdmJob.pass with the pass machine
  // ---------------------------------------------------------------------------------------------

  pass(): void {
    const acc = new Float64Array(2);
    let fresh = true;
    this.passCount.fill(0);
    this.passCounting = false;
    let state: 'computing' | 'redistributing' | 'waiting' = this.queue.pending
      ? 'redistributing'
      : 'computing';
    this.log(`pass ${this.stats.passes} starts (${state})`);
    for (;;) {
      this.machine = state;
      if (state === 'computing') {
        const slice = this.computeSlice(fresh);
        fresh = false;
        for (let c = 0; c < 2; c++) acc[c] += slice.acc[c];
        if (slice.complete) break;
        state = 'redistributing';
      } else if (state === 'redistributing') {
        const r = this.redistribute();
        // Pending events first: one may be the host that makes `noHostAvailable` stale.
        if (this.queue.pending) state = 'redistributing';
        else if (r.noHostAvailable) state = 'waiting';
        else state = 'computing';
      } else {
        // waitingForHost: leave on the first non-rejected event.
        if (this.waitForEvent()) state = 'redistributing';
      }
    }
    this.machine = null;
    this.stats.passes++;
    this.checkPassComplete(acc);
  }

  /**
   * One pass run by the real `passMachine`, provided with the model's effects as `AdmJob.pass`
   * provides its own: `computeSlice` (events of the step arrive, then — a tick later, once the machine
   * has reacted — the workers compute), `redistribute`, `eventsPending`, `requestStop`.
   */
  async passWithMachine(): Promise<void> {
    this.passCount.fill(0);
    this.passCounting = false;
    const machine = passMachine.provide({
      actors: {
        computeSlice: fromPromise<SliceResult, { params: Float64Array; fresh: boolean }>(
          async ({ input }) => {
            this.beginSlice();
            await Promise.resolve();
            return this.finishSlice(input.fresh);
          },
        ),
        redistribute: fromPromise<RedistributeResult, void>(async () => this.redistribute()),
      },
      guards: { eventsPending: () => this.queue.pending },
      actions: {
        requestStop: () => {
          this.migrationRequested = true;
        },
      },
    });
    const actor = createActor(machine, { input: { params: new Float64Array(0), waitTimeoutMs: 600_000 } });
    let waiting = false;
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.value === 'waitingForHost' && !waiting) {
          waiting = true;
          queueMicrotask(() => {
            waiting = false;
            while (actor.getSnapshot().value === 'waitingForHost' && !this.waitForEvent()) {}
          });
        }
      },
      error: () => {},
    });
    this.actor = actor;
    this.log(`pass ${this.stats.passes} starts (machine)`);
    actor.start();
    let out: PassOutput;
    try {
      out = await toPromise(actor);
    } finally {
      this.actor = null;
    }
    if (out.gaveUp || out.acc === null) this.fail(`the pass machine gave up (${JSON.stringify(out)})`);
    this.stats.passes++;
    this.checkPassComplete(out.acc);
  }

  /** While every host is vacated: the next steps' events arrive; when none remain, `available(returning)`. */
  private waitForEvent(): boolean {
    this.checkWaiting();
    if (this.cursor < this.scenario.steps.length) {
      const step = this.scenario.steps[this.cursor++];
      this.step = step;
      this.moveEventsSent = false;
      let accepted = 0;
      for (let k = 0; k < step.slice.length; k++) {
        if (accepted > 0 && this.actor === null) {
          // The first accepted event took the machine to `redistributing`, which drained the queue at
          // once (synchronously, before the rest of this burst is delivered): the rest arrive during it.
          this.burst = step.slice.slice(k);
          break;
        }
        if (this.send(step.slice[k], 'while waiting for a host').outcome?.status !== 'rejected') accepted++;
      }
      this.stats.eventsWhileWaiting += accepted;
      return accepted > 0;
    }
    this.send({ type: 'available', host: this.names[this.scenario.returning] }, 'host returns');
    this.stats.eventsWhileWaiting++;
    return true;
  }

  /**
   * The pass machine is in `waitingForHost`: it leaves only on a NEW event. If an event is already
   * pending (it arrived while the redistribution that found no host was in flight), the job waits
   * for nothing (until `waitTimeoutMs`, then the pass fails with "no host available").
   */
  private checkWaiting(): void {
    if (!this.queue.pending) return;
    this.stats.waitedWithEventPending++;
    if (this.options.strictWaiting) {
      const pending = this.queue.records().filter((r) => r.outcome === undefined);
      this.fail(
        `the pass machine waits for a host (waitingForHost) while ${pending.length} event(s) are pending: ` +
          `${JSON.stringify(pending.map((r) => r.event))} — it would wait until waitTimeoutMs and give up`,
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // AdmJob.computeSlice
  // ---------------------------------------------------------------------------------------------

  private computeSlice(fresh: boolean): { acc: Float64Array; complete: boolean } {
    this.beginSlice();
    return this.finishSlice(fresh);
  }

  /** The slice's step: its events arrive while the workers compute. */
  private beginSlice(): void {
    const step = this.cursor < this.scenario.steps.length ? this.scenario.steps[this.cursor++] : NO_STEP;
    this.step = step;
    this.moveEventsSent = false;
    this.stats.slices++;
    // A non-rejected event raises the migration flag (pass machine: computing.running → requestStop).
    if (step.slice.length) this.sendAll(step.slice, 'during slice');
  }

  /** The workers' replies, combined as `AdmJob.computeSlice` does. */
  private finishSlice(fresh: boolean): { acc: Float64Array; complete: boolean } {
    const step = this.step;
    const active = this.held.map((n, i) => (n > 0 ? i : -1)).filter((i) => i >= 0);
    const acc = new Float64Array(2);
    let complete = true;
    let interruptedAny = false;
    for (const i of active) {
      if (!this.available[i]) this.fail(`h${i} computes while vacated (it holds ${this.held[i]})`);
      const w = this.workers[i];
      if (fresh) w.processed.fill(0);
      let unprocessed = 0;
      for (const p of w.processed) unprocessed += 1 - p;
      let quota = unprocessed;
      let interrupted = false;
      if (this.migrationRequested) {
        const f = step.progress[i] ?? 1;
        quota = Math.min(unprocessed, Math.floor(f * (unprocessed + 1)));
        interrupted = quota < unprocessed || step.stopAtEnd;
      }
      // runPassLoop: in store order, skipping rows already flagged.
      let done = 0;
      for (let r = 0; r < w.ids.length && done < quota; r++) {
        if (w.processed[r] !== 0) continue;
        const id = w.ids[r];
        w.processed[r] = 1;
        this.passCount[id]++;
        acc[0] += this.ref.grads[id * 2];
        acc[1] += this.ref.grads[id * 2 + 1];
        done++;
      }
      const remaining = interrupted ? unprocessed - done : 0;
      if (interrupted) interruptedAny = true;
      // this.estimator.record(i, { count: r.processed, seconds: r.elapsedMs / 1000 })
      const seconds = done / (this.scenario.trueSpeeds[i] * this.estimator.load(i));
      this.estimator.record(i, { count: done, seconds });
      if (interrupted && remaining > 0) complete = false;
    }
    if (interruptedAny) this.stats.interruptedSlices++;
    this.passCounting = true;
    this.log(`slice: held ${JSON.stringify(this.held)}, complete ${complete}`);
    this.checkHoldings('after a slice');
    return { acc, complete };
  }

  // ---------------------------------------------------------------------------------------------
  // AdmJob.redistribute
  // ---------------------------------------------------------------------------------------------

  private redistribute(): { noHostAvailable: boolean } {
    const result = this.redistributeOnce();
    if (this.burst.length) {
      const burst = this.burst;
      this.burst = [];
      this.stats.eventsWhileWaiting += this.sendAll(burst, 'rest of a burst, during the redistribution');
    }
    return result;
  }

  private redistributeOnce(): { noHostAvailable: boolean } {
    this.migrationRequested = false; // control.clearMigration()
    this.stats.redistributions++;
    this.now += 1;
    const receivedBefore = this.sent.length;
    const drain = this.queue.drain(this.now);
    this.checkDrain(drain.applied, receivedBefore);
    this.names.forEach((h, i) => {
      const state = drain.states.get(h)!;
      this.available[i] = state.available;
      if (state.load !== this.estimator.load(i)) this.estimator.setLoad(i, state.load);
    });
    const availableCount = this.available.filter(Boolean).length;
    this.stats.minAvailable = Math.min(this.stats.minAvailable, availableCount);
    const capacities = this.estimator.capacities(this.available);
    const total = this.scenario.total;
    let targets: number[];
    try {
      targets = partitionBySpeed(total, capacities, this.held);
    } catch (error) {
      if (error instanceof NoHostAvailable) {
        this.stats.noHostAvailable++;
        this.log('redistribute: no host available');
        if (availableCount !== 0) this.fail(`NoHostAvailable with ${availableCount} hosts available`);
        this.checkHoldings('after NoHostAvailable');
        return { noHostAvailable: true };
      }
      throw error;
    }
    const decision = shouldRedistribute(this.held, targets, capacities, { minGain: this.minGain });
    this.log(
      `redistribute: available ${JSON.stringify(this.available)} held ${JSON.stringify(this.held)} → targets ${JSON.stringify(targets)} (${decision.reason})`,
    );
    if (!decision.redistribute) {
      this.stats.skippedSmallGain++;
      this.checkAfterRedistribution(targets);
      return { noHostAvailable: false };
    }
    const transfers = planTransfers(this.held, targets);
    this.moveData(transfers);
    targets.forEach((n, i) => {
      this.held[i] = n;
    });
    this.stats.moves++;
    this.stats.exemplarsMoved += transfers.reduce((s, t) => s + t.count, 0);
    this.checkAfterRedistribution(targets);
    return { noHostAvailable: false };
  }

  /** moveData: each sender cuts its fragments for all its receivers at once (from its end), then they arrive. */
  private moveData(transfers: readonly Transfer[]): void {
    for (const t of transfers) {
      if (!(t.count > 0) || t.from === t.to) this.fail(`bad transfer ${JSON.stringify(t)}`);
      if (!this.available[t.to]) this.fail(`transfer ${JSON.stringify(t)} sends data TO an unavailable host`);
    }
    const bySender = new Map<number, Transfer[]>();
    for (const t of transfers) {
      const list = bySender.get(t.from) ?? [];
      list.push(t);
      bySender.set(t.from, list);
    }
    const deliveries: { to: number; ids: number[]; processed: number[] }[] = [];
    for (const [from, list] of bySender) {
      const w = this.workers[from];
      for (const t of list) {
        // ExemplarStore.take(count): cut from the end.
        if (t.count > w.ids.length) this.fail(`transfer ${JSON.stringify(t)}: sender holds ${w.ids.length}`);
        const start = w.ids.length - t.count;
        deliveries.push({ to: t.to, ids: w.ids.splice(start), processed: w.processed.splice(start) });
      }
    }
    // Events arriving between the drain and the end of the move wait for the next drain.
    if (!this.moveEventsSent && this.step.move.length) {
      this.moveEventsSent = true;
      this.stats.eventsDuringMove += this.sendAll(this.step.move, 'during the move');
    }
    // Fragments reach their receivers in any order.
    let seed = this.step.delivery >>> 0;
    for (let k = deliveries.length - 1; k > 0; k--) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      const j = seed % (k + 1);
      [deliveries[k], deliveries[j]] = [deliveries[j], deliveries[k]];
    }
    for (const d of deliveries) {
      const w = this.workers[d.to];
      for (let r = 0; r < d.ids.length; r++) {
        w.ids.push(d.ids[r]);
        w.processed.push(d.processed[r]);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Convergence: no events but no-op triggers, measured speeds fixed.
  // ---------------------------------------------------------------------------------------------

  /**
   * With no event for `quietPasses` passes the estimator measures every host that holds data; a
   * redistribution only happens on an event, so a no-op event (a `load` equal to the host's current
   * load) triggers one. Repeat until a trigger moves nothing and the estimates did not change in its
   * round (the fixpoint), then check:
   *
   *  (a) against the estimator's capacities C (what the job believes): with T = partitionBySpeed(N, C,
   *      held), `estimatePassTime(held, C) − estimatePassTime(T, C) ≤ minGain · estimatePassTime(held, C)`
   *      (equality of held and T being the special case gain = 0), i.e. shouldRedistribute says no;
   *  (b) when every available host has been measured (C is then the true speed × load, up to float
   *      rounding), the same bound against the TRUE capacities, with 1e-9 relative slack;
   *  (c) a further trigger moves nothing (no thrash).
   */
  private *converge(): Generator<void, void, void> {
    this.log('convergence phase');
    const maxRounds = 40;
    for (let round = 1; ; round++) {
      for (let p = 0; p < this.scenario.quietPasses; p++) yield;
      const speeds = this.estimator.speeds();
      const moves = this.stats.moves;
      const noHost = this.stats.noHostAvailable;
      this.trigger();
      yield;
      if (this.stats.noHostAvailable !== noHost) this.fail('no host available during the convergence phase');
      // A fixpoint: the trigger moved nothing, and the estimates it decided on are still the estimates
      // (a host holding a few exemplars needs several passes to reach the estimator's minimum sample).
      const stable = this.estimator.speeds().every((v, i) => Math.abs(v - speeds[i]) <= 1e-12 * speeds[i]);
      if (this.stats.moves === moves && stable) {
        this.stats.convergenceRounds = round;
        break;
      }
      if (round >= maxRounds) this.fail(`no fixpoint after ${maxRounds} trigger rounds: data keeps moving`);
    }
    const minGain = this.minGain ?? DEFAULT_MIN_GAIN;
    const believed = this.estimator.capacities(this.available);
    this.checkWithinMinGain(believed, minGain, 'estimated', 0);
    const measuredAll = this.available.every((a, i) => !a || this.estimator.isMeasured(i));
    if (measuredAll) {
      const truth: WorkerCapacity[] = this.available.map((available, i) => ({
        speed: this.scenario.trueSpeeds[i],
        load: this.estimator.load(i),
        available,
      }));
      this.checkWithinMinGain(truth, minGain, 'true', 1e-9);
      this.stats.convergedOnTrueSpeeds = true;
    }
    const moves = this.stats.moves;
    this.trigger();
    yield;
    if (this.stats.moves !== moves) this.fail('a trigger after the fixpoint moved data again (thrash)');
  }

  private trigger(): void {
    const i = this.available.indexOf(true);
    if (i < 0) this.fail('convergence phase with no host available');
    this.send({ type: 'load', host: this.names[i], fraction: this.estimator.load(i) }, 'no-op trigger');
  }

  private checkWithinMinGain(caps: WorkerCapacity[], minGain: number, what: string, slack: number): void {
    const targets = partitionBySpeed(this.scenario.total, caps, this.held);
    const now = estimatePassTime(this.held, caps);
    const best = estimatePassTime(targets, caps);
    if (!(now - best <= minGain * now + slack * now)) {
      this.fail(
        `not converged on ${what} speeds: held ${JSON.stringify(this.held)}, target ${JSON.stringify(targets)}, ` +
          `pass time ${now} vs ${best} (gain ${(now - best) / now} > minGain ${minGain})`,
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants
  // ---------------------------------------------------------------------------------------------

  /** Every id exactly once across workers; the coordinator's counts are the workers' real counts. */
  private checkHoldings(when: string): void {
    const total = this.scenario.total;
    const seen = new Uint8Array(total);
    let count = 0;
    for (let i = 0; i < this.workers.length; i++) {
      const w = this.workers[i];
      if (w.ids.length !== this.held[i] || w.processed.length !== w.ids.length) {
        this.fail(
          `${when}: worker h${i} holds ${w.ids.length} exemplars, the coordinator thinks ${this.held[i]}`,
        );
      }
      for (let r = 0; r < w.ids.length; r++) {
        const id = w.ids[r];
        if (!(Number.isInteger(id) && id >= 0 && id < total)) this.fail(`${when}: unknown id ${id} on h${i}`);
        if (seen[id]) this.fail(`${when}: id ${id} is held twice`);
        seen[id] = 1;
        count++;
        // Within a pass, an exemplar is flagged exactly when it has been counted, and counted at most once.
        if (this.passCounting) {
          if (this.passCount[id] > 1)
            this.fail(`${when}: id ${id} counted ${this.passCount[id]} times this pass`);
          if (this.passCount[id] !== w.processed[r]) {
            this.fail(
              `${when}: id ${id} counted ${this.passCount[id]} times but its flag is ${w.processed[r]}`,
            );
          }
        }
      }
    }
    if (count !== total)
      this.fail(`${when}: ${count} exemplars held, ${total} in the training set (lost ${total - count})`);
  }

  private checkAfterRedistribution(targets: readonly number[]): void {
    this.checkHoldings('after a redistribution');
    let holders = 0;
    for (let i = 0; i < this.held.length; i++) {
      if (!this.available[i] && this.held[i] > 0) {
        this.fail(`after a redistribution the unavailable host h${i} still holds ${this.held[i]} exemplars`);
      }
      if (this.held[i] > 0) holders++;
    }
    if (targets.reduce((s, n) => s + n, 0) !== this.scenario.total)
      this.fail('targets do not sum to the total');
    if (holders === 1 && this.available.filter(Boolean).length === 1) this.stats.oneHostHoldsAll = true;
  }

  /** After a drain: every event received before it has exactly one outcome, and the states are right. */
  private checkDrain(applied: readonly EventRecord[], receivedBefore: number): void {
    const records = this.queue.records();
    if (records.length !== this.sent.length)
      this.fail(`queue kept ${records.length} records of ${this.sent.length}`);
    for (let seq = 0; seq < receivedBefore; seq++) {
      const r = records[seq];
      if (r.seq !== seq) this.fail(`record ${seq} has seq ${r.seq}`);
      if (r.outcome === undefined)
        this.fail(`event ${seq} (${JSON.stringify(r.event)}) has no outcome after a drain`);
      this.noteOutcome(r);
    }
    for (const r of applied) {
      if (r.outcome?.status !== 'applied' || r.outcome.appliedAt !== this.now) {
        this.fail(`drain returned event ${r.seq} with outcome ${JSON.stringify(r.outcome)}`);
      }
    }
    const s = this.queue.summary;
    if (s.pending !== 0) this.fail(`${s.pending} events pending right after a drain`);
    if (s.received !== s.applied + s.superseded + s.rejected + s.pending) {
      this.fail(`summary does not add up: ${JSON.stringify(s)}`);
    }
    this.stats.applied = s.applied;
    this.stats.superseded = s.superseded;
    this.names.forEach((h, i) => {
      const q = this.queue.hostState(h);
      const r = this.refStates[i];
      if (q.available !== r.available || q.load !== r.load) {
        this.fail(
          `after a drain ${h} is ${JSON.stringify(q)}, applying every event in order gives ${JSON.stringify(r)}`,
        );
      }
    });
  }

  /** An outcome, once set, never changes; a superseding event is a later one. */
  private noteOutcome(r: EventRecord): void {
    const o: EventOutcome = r.outcome!;
    const text = JSON.stringify(o);
    const before = this.outcomes.get(r.seq);
    if (before !== undefined && before !== text)
      this.fail(`event ${r.seq}'s outcome changed from ${before} to ${text}`);
    this.outcomes.set(r.seq, text);
    if (o.status === 'superseded' && !(o.by > r.seq))
      this.fail(`event ${r.seq} superseded by earlier ${o.by}`);
  }

  /** A finished pass counted every exemplar exactly once; its sum equals the reference to 1e-9 relative. */
  private checkPassComplete(acc: Float64Array): void {
    this.checkHoldings('at the end of a pass');
    for (let id = 0; id < this.scenario.total; id++) {
      if (this.passCount[id] !== 1)
        this.fail(`pass ${this.stats.passes - 1} counted id ${id} ${this.passCount[id]} times`);
    }
    for (let c = 0; c < 2; c++) {
      const err = Math.abs(acc[c] - this.ref.sum[c]);
      if (!(err <= 1e-9 * this.ref.scale[c])) {
        this.fail(
          `pass sum[${c}] = ${acc[c]}, reference ${this.ref.sum[c]} (relative error ${err / this.ref.scale[c]})`,
        );
      }
    }
  }

  private log(line: string): void {
    if (this.trace.length < 400) this.trace.push(line);
  }

  fail(message: string): never {
    throw new ModelViolation(`${message}\n  trace (first 400 lines):\n    ${this.trace.join('\n    ')}`);
  }
}

/** Run a scenario through the model; throws `ModelViolation` on a broken invariant. */
export function runScenario(scenario: Scenario): RunStats {
  return new AdmModel(scenario).run();
}
