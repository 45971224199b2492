/**
 * Drives the real AdmJob (EventQueue, partitioner, pass machine, moves, recovery) with
 * in-process workers on a virtual clock, applies a scenario's script between scheduler steps,
 * and checks the invariants after every step. Only the transport is in-process.
 *
 * Invariants (a violation throws `Violation` with the scenario's step and virtual time):
 *  1. Whenever no move is in flight (the pass machine computing, waiting or between passes,
 *     and no insert/extract/drop queued on a live worker): every id 0..N−1 is held exactly
 *     once across the workers — asked of the workers' stores, not of the coordinator — where
 *     a failed worker's store and mail count until the coordinator gives up on it; and the
 *     coordinator's count for each worker is that worker's real count (0 once given up on).
 *  2. Every finished pass's accumulator equals the reference (id-sum kernel: count, Σid, Σid²,
 *     Σx) to 1e-9 relative: every exemplar counted exactly once, whatever moved meanwhile.
 *  3. No data is sent to a host that is vacated or has a vacate pending when the move was
 *     planned; no host computes after its vacate was applied.
 *  4. Every event ends with exactly one outcome (rejected exactly when invalid, superseded only
 *     by a later event for the same host and dimension); an outcome never changes.
 *  5. A pass only fails for a reason the scenario explains: it gives up waiting only when no
 *     live host is available; it finds no worker left only when none is; the job never stalls
 *     (something is always scheduled while a pass is unfinished); a worker never fails for a
 *     reason nobody injected (e.g. asked for more rows than it holds).
 *  6. Once the script is over (a host returned, time advanced past every deferral), a quiet pass
 *     finishes, every event has its outcome and vacated hosts hold nothing.
 */
import type { EventRecord, SchedulerEvent } from '../../framework/events/types.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { AdmJob, type JobOptions } from '../../framework/runtime/adm-job.ts';
import {
  type InProcessObserver,
  InProcessTransport,
  loadKernelModule,
} from '../../framework/runtime/in-process-transport.ts';
import type { InProcessWorker } from '../../framework/runtime/in-process-worker.ts';
import { flushMicrotasks, VirtualTime } from '../../framework/runtime/virtual-time.ts';
import { ID_SUM_KERNEL } from '../fixtures/id-sum-kernel.ts';
import { randomColumns, referenceSums } from '../runtime/helpers.ts';
import { AvailabilityLog } from './availability-log.ts';
import { checkIdsExactlyOnce, outcomeChanged, outcomesWrong, sumsDiffer } from './invariants.ts';
import type { Action, MachineState, RawEvent, Scenario } from './scenario.ts';
import { emptyStats, type RunStats } from './tally.ts';

/**
 * Coordinator bugs the properties found (see README.md; all fixed, each kept as a regression
 * test in found-bugs.test.ts). A violation is classified by them, so one that comes back is
 * named; the suite tolerates none unless a set is passed in `tolerate`.
 */
export type KnownBug =
  /**
   * `AdmJob.recover` plans with the drained availability only: it hands reloaded exemplars to a
   * host whose vacate is pending, and fails the job ("no worker left") while an `available` is pending.
   */
  | 'recover-ignores-pending-events'
  /** A worker call rejected with nobody listening (e.g. a delivery in `moveData` before it is awaited). */
  | 'unhandled-rejection'
  /**
   * After a pass gave up waiting for a host, the next `pass()` computes on the vacated hosts
   * (where the data stayed) instead of waiting: nothing pending, so `checking` goes to `computing`.
   */
  | 'computes-on-vacated-after-give-up'
  /**
   * `AdmJob.redistribute` awaits `Promise.all([moveData, reloadFromSource])`: when a move fails,
   * recovery starts while a deadline drain's drop and reload are still in flight, reloads the
   * dropped rows itself, and the straggling reload inserts them a second time.
   */
  | 'redistribute-does-not-settle'
  /**
   * `AdmJob.recover` records a fault only at its end: when recovery itself faults, the worker it
   * was recovering from is marked lost but never gets its FaultRecord (nor `onFault`).
   */
  | 'fault-record-lost';

/**
 * For a suite's beforeAll/afterAll: route unhandled rejections to `onUnhandledRejection`
 * (a violation) instead of vitest's handlers, and put those back afterwards.
 */
export function watchRejections(): { install(): void; remove(): void } {
  let saved: NodeJS.UnhandledRejectionListener[] = [];
  return {
    install() {
      saved = process.listeners('unhandledRejection');
      process.removeAllListeners('unhandledRejection');
      process.on('unhandledRejection', onUnhandledRejection);
    },
    remove() {
      process.off('unhandledRejection', onUnhandledRejection);
      for (const l of saved) process.on('unhandledRejection', l);
    },
  };
}

/** Bugs tolerated by default: none is open. */
export const ALL_KNOWN_BUGS: ReadonlySet<KnownBug> = new Set<KnownBug>();

export class Violation extends Error {
  override name = 'Violation';
  constructor(
    message: string,
    readonly bug: KnownBug | null = null,
  ) {
    super(message);
  }
}

interface Found {
  readonly message: string;
  readonly bug: KnownBug | null;
}

/** The run in progress (one at a time): where unhandled rejections are reported. */
let current: ScenarioRun | null = null;

/**
 * Under Node's default (`--unhandled-rejections=throw`) a rejected promise nobody handles
 * crashes the process: for the coordinator that is a bug, checked like any invariant.
 * Install while properties run (the test runner's own listener is set aside meanwhile).
 */
export function onUnhandledRejection(reason: unknown): void {
  const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  if (current === null) throw reason;
  current.found({ message: `unhandled rejection: ${message}`, bug: 'unhandled-rejection' });
}

/** Steps allowed for the pass still running when the script ends, and for the final quiet pass. */
const FINISH_STEPS = 20_000;
/** Steps to wait for the pass machine to reach a state a script step waits for. */
const WHEN_STEPS = 300;

const dataCache = new Map<number, { data: ExemplarColumns; reference: Float64Array }>();

function dataFor(total: number) {
  let d = dataCache.get(total);
  if (d === undefined) {
    const data = randomColumns(total, 1, total);
    d = { data, reference: referenceSums(data) };
    dataCache.set(total, d);
  }
  return d;
}

/** Load the kernel module once, before any virtual run (so starting a worker needs no real I/O). */
export function warmUp(): Promise<unknown> {
  return loadKernelModule(ID_SUM_KERNEL);
}

type PassResult = { ok: true; acc: Float64Array } | { ok: false; error: unknown };

const STATES: Record<string, MachineState | 'other'> = {
  '{"computing":"running"}': 'running',
  '{"computing":"migrationPending"}': 'running',
  '{"computing":"handingOff"}': 'running',
  '{"idle":"quiet"}': 'idle',
  '{"idle":"handingOff"}': 'idle',
  '{"idle":"redistributing"}': 'redistributing',
  '{"idle":"recovering"}': 'recovering',
  // A move between passes failed for a reason not a worker's: the next pass fails with it.
  '{"idle":"failed"}': 'other',
  // A recovery between passes found no worker to take the rows: they are knowingly missing
  // until the next pass recovers them (no audit meanwhile).
  '{"idle":"recoveryDue"}': 'other',
  redistributing: 'redistributing',
  recovering: 'recovering',
  waitingForHost: 'waitingForHost',
};

export class ScenarioRun {
  readonly stats: RunStats = emptyStats();
  private readonly vt: VirtualTime;
  private readonly transport: InProcessTransport;
  private job: AdmJob | null = null;
  private readonly data: ExemplarColumns;
  private readonly reference: Float64Array;
  private readonly hostNames: string[];
  private epoch = 0;
  private readonly availability = new AvailabilityLog();
  /** The pass machine's state, as the job reports its transitions ('idle' between passes). */
  private state: string = 'idle';
  private passResult: PassResult | null = null;
  private passRunning = false;
  /** The app is working between two passes: the next one starts when its timer fires. */
  private passDue = false;
  private passesStarted = 0;
  /** The job has no worker left: it cannot go on (a legitimate end). */
  private broken = false;
  private readonly violations: Found[] = [];
  private readonly outcomes = new Map<number, string>();
  private readonly validSent: boolean[] = [];
  /** Epoch of the extract that handed out a fragment (keyed by its ids array). */
  private readonly extractedAt = new WeakMap<Int32Array, number>();
  /** Epoch of the drop each dropped id came from, until it is inserted again. */
  private readonly droppedAt = new Map<number, number>();
  /** Hosts whose worker the coordinator gave up on (its worker actor reached `lost`). */
  private readonly givenUp = new Set<string>();
  private where = 'start';
  /** Drops requested (deadline drains) so far. */
  private drops = 0;

  constructor(
    private readonly s: Scenario,
    /** Where to write a step-by-step trace (replaying a counterexample). */
    private readonly trace?: (line: string) => void,
  ) {
    this.vt = new VirtualTime(s.seed);
    const { data, reference } = dataFor(s.total);
    this.data = data;
    this.reference = reference;
    this.hostNames = Array.from({ length: s.hosts }, (_, i) => `h${i}`);
    this.transport = new InProcessTransport({
      time: this.vt,
      baseRate: (i) => s.rates[i] * (s.soloRate / 8),
      copyBytesPerMs: s.copyBytesPerMs,
      observer: this.observer(),
    });
  }

  private get workers(): readonly InProcessWorker[] {
    return this.transport.workers;
  }

  /** Report a broken invariant found outside the driver's own checks (thrown at the next check). */
  found(v: Found): void {
    this.violations.push(v);
  }

  async run(): Promise<RunStats> {
    current = this;
    try {
      await this.start();
      for (const [k, step] of this.s.script.entries()) {
        if (this.broken) break;
        this.where = `script step ${k}`;
        for (let g = 0; g < step.gap; g++) if (!(await this.stepOnce())) break;
        if (step.when !== null) {
          for (let g = 0; g < WHEN_STEPS && this.state !== step.when; g++)
            if (!(await this.stepOnce())) break;
        }
        this.apply(step.action);
        this.check();
        if (step.action.kind === 'advance') await this.advance(step.action.ms);
      }
      if (!this.broken) await this.finish();
      return this.stats;
    } catch (error) {
      if (error instanceof Violation) {
        error.message = `${error.message}\n  at ${this.where}, virtual t=${this.vt.now()} ms, step ${this.vt.steps}, machine ${this.state}`;
      }
      throw error;
    } finally {
      await this.job?.close();
      // Rejections from the closed job's leftovers surface now: still this run's.
      await flushMicrotasks();
      current = null;
    }
  }

  private async start(): Promise<void> {
    const s = this.s;
    const options: JobOptions = {
      kernelModule: ID_SUM_KERNEL,
      // Each pass's parameters are its number, and the sums show them: a pass that reports
      // another pass's result (computed with its parameters) fails the sums check.
      kernelConfig: { paramsInSums: true },
      train: this.data,
      hosts: this.hostNames.map((name, i) => ({ name, speed: s.declared[i] })),
      emulateSpeeds: s.emulate,
      emulatedSpeeds: s.emulate ? s.rates : undefined,
      calibrationParams: new Float64Array(1),
      clock: this.vt.clock,
      timers: this.vt,
      soloRate: s.soloRate,
      rebalance: s.rebalance,
      transport: this.transport,
      waitTimeoutMs: s.waitTimeoutMs,
      minGain: s.minGain,
      minIntervalMs: s.minIntervalMs,
      livenessMs: s.livenessMs,
      onTransition: (t) => {
        this.trace?.(`t=${t.at} ${t.actor} → ${t.state}`);
        if (t.actor === 'pass') this.entered(t.state);
        else if (t.state === 'lost') this.givenUp.add(t.actor.replace(/^worker:/, ''));
      },
      onFault: (f) => {
        this.stats[f.cause]++;
        if (f.during === 'pass') this.stats.faultsInPass++;
        else if (f.during === 'insert' || f.during === 'extract' || f.during === 'drop')
          this.stats.faultsInMove++;
        else if (f.during === 'handOff' || f.during === 'idle') this.stats.faultsInHandOff++;
      },
    };
    this.job = await this.vt.drive(AdmJob.start(options));
    this.check();
    this.startPass();
  }

  private entered(state: string): void {
    if (this.state === 'waitingForHost' && state === 'redistributing') this.stats.returnedFromWaiting++;
    if (state === 'waitingForHost') this.stats.waitedForHost++;
    if (state === '{"idle":"recovering"}') this.stats.recoveriesBetweenPasses++;
    if (state === '{"idle":"redistributing"}') this.stats.movesBetweenPasses++;
    this.state = STATES[state] ?? state;
  }

  private startPass(): void {
    const job = this.job!;
    this.passesStarted++;
    this.passRunning = true;
    this.passResult = null;
    this.state = 'checking';
    job.pass(Float64Array.of(this.passesStarted)).then(
      (acc) => {
        this.passResult = { ok: true, acc };
      },
      (error: unknown) => {
        this.passResult = { ok: false, error };
      },
    );
  }

  /** One scheduler step, then every check. False when nothing was left to run. */
  private async stepOnce(): Promise<boolean> {
    const ran = await this.vt.step();
    this.trace?.(`  step ${this.vt.steps} t=${this.vt.now()}`);
    this.stats.steps++;
    this.check();
    if (!ran && this.passRunning && this.passResult === null) {
      throw new Violation('stalled: a pass is unfinished and nothing is scheduled that could finish it');
    }
    return ran;
  }

  private check(): void {
    if (this.violations.length > 0) {
      throw new Violation(this.violations.map((v) => v.message).join('\n'), this.violations[0].bug);
    }
    const job = this.job!;
    const changed = outcomeChanged(job.events(), this.outcomes);
    if (changed) throw new Violation(changed);
    if (this.passRunning && this.passResult !== null) this.passEnded(this.passResult);
    if (this.quiet()) this.audit();
  }

  /**
   * No move in flight: the machine computes, waits or is between passes, and no worker the
   * coordinator still counts on moves data. A dead worker counts until it is given up on: a
   * sender that handed its rows over and then died, its receiver dead too, left a move whose
   * outcome the coordinator has yet to take in (its count there is the one before the move).
   */
  private quiet(): boolean {
    if (this.broken) return false;
    const calm = ['idle', 'running', 'waitingForHost', 'done'].includes(this.state);
    if (!calm || this.workers.some((w) => w.alive && w.moving)) return false;
    if (this.workers.some((w) => !this.givenUp.has(w.host) && w.moving)) {
      this.stats.auditsHeldByDeadMover++;
      return false;
    }
    return true;
  }

  /**
   * A dead worker still counts as holding its store and the rows handed to it until the
   * coordinator gives up on it (its worker actor is `lost`, its count there 0); from then on
   * its exemplars must be held by live workers. (A worker that died with rows on their way to
   * it holds them, in its mail, until then: they are reloaded once the coordinator knows.)
   */
  private audit(): void {
    const job = this.job!;
    this.stats.audits++;
    const counts = job.counts();
    const holders = this.workers.filter((w) => w.alive || counts[w.index] > 0 || !this.givenUp.has(w.host));
    const problem = checkIdsExactlyOnce(
      holders.map((w) => w.heldIds()),
      this.s.total,
    );
    if (problem) {
      // A move or drain left running while recovery reloads the same rows (see KnownBug).
      const straggler = this.drops > 0 && /twice/.test(problem);
      throw new Violation(`holdings: ${problem}`, straggler ? 'redistribute-does-not-settle' : null);
    }
    for (const w of holders) {
      if (counts[w.index] !== w.heldCount) {
        throw new Violation(
          `coordinator counts ${counts[w.index]} on ${w.host}, the worker holds ${w.heldCount}`,
        );
      }
    }
  }

  private passEnded(result: PassResult): void {
    this.trace?.(
      `t=${this.vt.now()} pass ${this.passesStarted} ${result.ok ? 'done' : `failed: ${String(result.error)}`}`,
    );
    this.passRunning = false;
    // The machine may already be in a step between passes that it entered as the pass ended:
    // `idle.recoveryDue` after giving up waiting to recover (rows knowingly missing until the
    // next pass recovers them), or a recovery or move (a worker that failed idle): no audit
    // before that is over.
    if (!['other', 'recovering', 'redistributing'].includes(this.state)) this.state = 'idle';
    if (result.ok) {
      const expected = Float64Array.from(this.reference);
      expected[2] += expected[0] * this.passesStarted; // paramsInSums: every row adds the pass's number
      const wrong = sumsDiffer(result.acc, expected);
      if (wrong) throw new Violation(`pass ${this.passesStarted}: ${wrong}`);
      this.stats.passes++;
    } else {
      const message = result.error instanceof Error ? result.error.message : String(result.error);
      const live = this.workers.filter((w) => w.alive && !this.availability.vacatedAt(w.host));
      if (/no host available/.test(message)) {
        if (live.length > 0) {
          throw new Violation(
            `pass gave up waiting for a host although ${live.map((w) => w.host).join(', ')} is available: ${message}`,
          );
        }
        this.stats.waitTimeouts++;
        // A failed worker's rows waited for a host in vain: as the job would end here (the
        // CLI does), so does the run, unless a host comes back and the next pass recovers them.
        if (
          /nowhere to go|no room for the/.test(message) &&
          (!this.s.returnAfterGiveUp || this.where === 'final quiet pass')
        ) {
          this.broken = true;
          return;
        }
        if (this.s.returnAfterGiveUp) this.bringHostBack();
      } else if (/no worker left/.test(message)) {
        if (live.length > 0) {
          const pending = live.some((w) =>
            this.job!.events().some(
              (r) => r.event.host === w.host && r.event.type === 'available' && !r.outcome,
            ),
          );
          throw new Violation(
            `pass found no worker left although ${live.map((w) => w.host).join(', ')} is available${pending ? ' (its available event still pending)' : ''}: ${message}`,
            pending ? 'recover-ignores-pending-events' : null,
          );
        }
        this.stats.noWorkerLeft++;
        this.broken = true;
        return;
      } else {
        throw new Violation(`pass failed: ${message}`);
      }
    }
    if (this.passesStarted >= this.s.maxPasses) return;
    const gap = this.s.betweenPassesMs ?? 0;
    if (gap === 0) {
      this.startPass();
      return;
    }
    // The app works between passes: events that come now find the pass machine idle.
    this.passDue = true;
    this.vt.setTimeout(() => {
      this.passDue = false;
      this.startPass();
    }, gap);
  }

  // ---- The script's actions -------------------------------------------------------------

  private apply(action: Action): void {
    const w = 'worker' in action ? this.workers[action.worker] : undefined;
    if (action.kind !== 'events' && action.kind !== 'advance' && this.state === 'recovering' && w?.alive) {
      this.stats.faultsInRecovery++;
    }
    switch (action.kind) {
      case 'events':
        action.events.forEach((e, k) => {
          this.send(e, action.valid[k]);
        });
        return;
      case 'fault':
        this.trace?.(`t=${this.vt.now()} fault: ${w!.host} ${action.fault}s`);
        if (action.fault === 'throw') w!.throwOnNextRequest();
        else if (action.fault === 'exit') w!.exitNow();
        else w!.hangNow();
        return;
      case 'moveFault':
        w!.failDuringNextMove(action.fault);
        return;
      case 'slow':
        w!.slowNextReply(action.ms);
        return;
      case 'advance':
        // Run by the script loop: steps, with the checks in between.
        return;
    }
  }

  /** Whether the job gave `host` up (its worker actor is in `lost`). */
  private isLost(host: string): boolean {
    const mine = this.job!.stateTransitions().filter((t) => t.actor === `worker:${host}`);
    return mine.at(-1)?.state === 'lost';
  }

  private send(raw: RawEvent, meant: boolean): EventRecord {
    const job = this.job!;
    this.epoch++;
    const during = this.state;
    this.trace?.(`t=${this.vt.now()} send ${JSON.stringify(raw)} epoch ${this.epoch}`);
    // A host the job has given up on takes no events any more: one for it is rightly refused.
    const valid = meant && !(raw !== null && this.isLost(String(raw.host)));
    const record = job.send(raw as SchedulerEvent);
    this.validSent.push(valid);
    const rejected = record.outcome?.status === 'rejected';
    if (rejected === valid) {
      this.found({
        message: `event ${JSON.stringify(raw)} was ${rejected ? '' : 'not '}rejected`,
        bug: null,
      });
    }
    if (valid && raw !== null) {
      const host = String(raw.host);
      if (raw.type === 'vacate' || raw.type === 'available') {
        if (raw.type === 'vacate' && (during === 'redistributing' || during === 'recovering')) {
          this.stats.vacatesDuringMove++;
        }
        this.availability.record(host, this.epoch, raw.type === 'vacate');
      }
    }
    return record;
  }

  /** Send `available` for the scenario's returning host (or the first live one). */
  private bringHostBack(): void {
    const live = this.workers.filter((w) => w.alive);
    if (live.length === 0) return;
    const w = live.find((x) => x.index === this.s.returning) ?? live[0];
    this.send({ type: 'available', host: w.host }, true);
  }

  // ---- The end: a host back, time past every deferral, one quiet pass, final checks --------

  private async finish(): Promise<void> {
    this.where = 'finish';
    if (this.workers.every((w) => !w.alive || this.availability.vacatedAt(w.host))) this.bringHostBack();
    await this.runPassToEnd();
    if (this.broken) return;
    await this.advance(10_000);
    this.where = 'final quiet pass';
    this.startPass();
    await this.runPassToEnd();
    if (this.broken) return;
    const job = this.job!;
    const records = job.events();
    const wrong = outcomesWrong(records, this.validSent);
    if (wrong) throw new Violation(wrong);
    for (const r of records) {
      if (r.outcome?.status === 'rejected') this.stats.rejected++;
      if (r.outcome?.status === 'superseded') this.stats.superseded++;
      if (
        r.outcome?.status === 'applied' &&
        r.event.type !== 'vacate' &&
        r.outcome.appliedAt > r.receivedAt
      ) {
        this.stats.deferred++;
      }
    }
    for (const rec of job.redistributions()) {
      if (rec.exemplarsMoved > 0) this.stats.moves++;
      if (rec.whileComputing) this.stats.handOffs++;
      if (rec.betweenPasses) this.stats.handOffsBetweenPasses++;
      if (rec.exemplarsMoved > 0 && rec.events.length === 0) this.stats.rebalances++;
      for (const d of rec.deadlines) {
        if (d.reloaded > 0) this.stats.deadlineDrops++;
        if (d.met) this.stats.deadlinesMet++;
      }
    }
    const counts = job.counts();
    for (const w of this.workers) {
      if (
        !w.alive &&
        w.heldCount > 0 &&
        counts[w.index] === 0 &&
        !job.faults().some((f) => f.host === w.host)
      ) {
        throw new Violation(
          `${w.host} was given up on (count 0, its data reloaded) but has no fault record`,
          'fault-record-lost',
        );
      }
      if (w.alive && this.availability.vacatedAt(w.host) && w.heldCount > 0) {
        throw new Violation(
          `${w.host} was vacated but still holds ${w.heldCount} exemplars after a quiet pass`,
        );
      }
    }
  }

  private async runPassToEnd(): Promise<void> {
    for (let k = 0; k < FINISH_STEPS && (this.passRunning || this.passDue); k++) await this.stepOnce();
    if (this.passRunning || this.passDue)
      throw new Violation(`a pass did not finish within ${FINISH_STEPS} steps`);
  }

  /** Let `ms` of virtual time pass, one step (and one round of checks) at a time. */
  private async advance(ms: number): Promise<void> {
    const target = this.vt.now() + ms;
    for (;;) {
      const next = this.vt.nextAt();
      if (next === null || next > target) break;
      await this.stepOnce();
    }
    await this.vt.advance(Math.max(0, target - this.vt.now()));
  }

  // ---- Watching the workers -----------------------------------------------------------

  private observer(): InProcessObserver {
    return {
      request: (w, kind, fragments) => {
        this.trace?.(
          `t=${this.vt.now()} ${w.host}.${kind}(${fragments ? fragments.reduce((n, f) => n + f.count, 0) : ''}) epoch ${this.epoch}`,
        );
        if (kind === 'pass') this.checkMayCompute(w);
        if (kind === 'insert' && fragments !== null) this.checkMayReceive(w, fragments);
        if (kind === 'drop') this.drops++;
        return this.epoch;
      },
      removed: (_w, kind, ids, fragments, tag) => {
        const epoch = tag as number;
        if (kind === 'extract') for (const f of fragments) this.extractedAt.set(f.ids, epoch);
        else for (const id of ids) this.droppedAt.set(id, epoch);
      },
      unexpected: (w, error) => {
        this.found({ message: `${w.host} failed for a reason nobody injected: ${String(error)}`, bug: null });
      },
      lateReply: () => {
        this.stats.lateReplies++;
      },
    };
  }

  /** No host computes once its vacate has been applied (and no `available` applied since). */
  private checkMayCompute(w: InProcessWorker): void {
    const last = this.job!.events().findLast(
      (r) => r.event.host === w.host && r.event.type !== 'load' && r.outcome?.status === 'applied',
    );
    if (last?.event.type === 'vacate') {
      this.found({
        message: `${w.host} asked to compute after its vacate (event ${last.seq}) was applied`,
        bug: this.stats.waitTimeouts > 0 ? 'computes-on-vacated-after-give-up' : null,
      });
    }
  }

  /**
   * No data goes to a host vacated (or with a vacate pending) when the move was planned. The
   * plan's moment: the extract that produced the fragments, or the drop their rows came from
   * (a deadline reload), else the insert itself (recovery plans and inserts in one go).
   */
  private checkMayReceive(w: InProcessWorker, fragments: readonly ExemplarColumns[]): void {
    let planned = this.epoch;
    // Recovery reloads from the source and plans at the insert, whatever dropped the rows
    // before (a deadline drain whose reload a fault then cut short). The cost: a drain's own
    // reload still in flight when recovery starts (redistribute-does-not-settle, fixed) would
    // be dated at its insert too, so a host vacated at the drop and back by then would pass.
    const recovering = this.state === 'recovering';
    for (const f of fragments) {
      const extracted = this.extractedAt.get(f.ids);
      if (extracted !== undefined) planned = Math.min(planned, extracted);
      else if (!recovering && f.count > 0 && this.droppedAt.has(f.ids[0]))
        planned = Math.min(planned, this.droppedAt.get(f.ids[0])!);
      for (const id of f.ids) this.droppedAt.delete(id);
    }
    if (this.hostNames.some((h) => this.availability.vacatedAt(h, planned)))
      this.stats.plannedWithVacatePending++;
    if (this.availability.vacatedAt(w.host, planned)) {
      const rows = fragments.reduce((s, f) => s + f.count, 0);
      this.found({
        message: `${rows} exemplars sent to ${w.host}, which was vacated (or had a vacate pending) when the move was planned (epoch ${planned}, now ${this.epoch}, machine ${this.state})`,
        // Recovery plans with the drained availability only (adm-job.ts, recover()).
        bug: this.state === 'recovering' ? 'recover-ignores-pending-events' : null,
      });
    }
  }
}

export interface RunOptions {
  /** Known bugs that end a run without failing it (counted in `stats.knownBugs`). */
  readonly tolerate?: ReadonlySet<KnownBug>;
  /** A step-by-step trace (replaying a counterexample). */
  readonly trace?: (line: string) => void;
}

/** Run one scenario; throws `Violation` on the first broken invariant not tolerated. */
export async function runScenario(s: Scenario, options: RunOptions = {}): Promise<RunStats> {
  const run = new ScenarioRun(s, options.trace);
  try {
    return await run.run();
  } catch (error) {
    if (error instanceof Violation && error.bug !== null && options.tolerate?.has(error.bug)) {
      run.stats.knownBugs++;
      if (error.bug === 'unhandled-rejection') run.stats.bugUnhandledRejection++;
      else if (error.bug === 'recover-ignores-pending-events') run.stats.bugRecoverPending++;
      else if (error.bug === 'redistribute-does-not-settle') run.stats.bugNotSettled++;
      else if (error.bug === 'fault-record-lost') run.stats.bugFaultRecordLost++;
      else run.stats.bugComputesAfterGiveUp++;
      return run.stats;
    }
    throw error;
  }
}
