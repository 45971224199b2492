import type { Dataset } from '../../framework/datasets/index.ts';
import type {
  DataParallelJob,
  EventRecord,
  FaultRecord,
  RedistributionRecord,
  StateTransition,
  WorkerRecord,
} from '../../framework/index.ts';
import type { IterationRecord, RunReport } from '../opt/report.ts';
import type { OptObserver } from '../opt/train.ts';
import { print } from './stdout.ts';

const percent = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
const ms = (x: number | null) => (x === null ? '–' : `${x.toFixed(1)} ms`);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/**
 * The training rows' mean error, then the weight-decay term SCG adds to it (when there is
 * one): the first figure compares with the validation error, which has no decay term.
 */
function errorText(data: number | undefined, minimised: number): string {
  if (!Number.isFinite(minimised)) return '–';
  if (data === undefined || !Number.isFinite(data)) return minimised.toFixed(5);
  const decay = minimised - data;
  return decay > 0 ? `${data.toFixed(5)} +decay ${decay.toFixed(5)}` : data.toFixed(5);
}

/** A load fraction as printed: three significant digits (a load watch reports 0.5369891689847118). */
export const loadText = (fraction: number): string => String(Number(fraction.toPrecision(3)));

/**
 * A worker's measured speed with its host to itself (a load fraction of 1), and its rate at
 * the load applied if that is not 1 (the fraction of the host left to the job).
 */
function measuredText(w: WorkerRecord): string {
  if (w.measuredRate === null) return 'not measured';
  const full = `measured ${Math.round(w.measuredRate)}/s`;
  return w.load === 1
    ? full
    : `${full} unloaded (${Math.round(w.measuredRate * w.load)}/s at its load ${loadText(w.load)})`;
}

/**
 * When a redistribution was asked for; and, when its data had to wait (nowhere to go, or a
 * move under way), when it moved, for its times run from the request.
 */
export function whenText(r: Pick<RedistributionRecord, 'triggeredAt' | 'startedAt'>): string {
  const at = `at ${(r.triggeredAt / 1000).toFixed(2)} s`;
  return r.startedAt - r.triggeredAt < 100
    ? at
    : `asked ${at}, moved from ${(r.startedAt / 1000).toFixed(2)} s`;
}

/** The redistribution a fault cut short, if any (it has no record of its own). */
const cutShort = (f: FaultRecord) =>
  f.interruptedEvents === undefined
    ? ''
    : ` (it cut short the redistribution of event${f.interruptedEvents.length === 1 ? '' : 's'} ${f.interruptedEvents.map((e) => `#${e}`).join(', ')})`;

/** Exemplars dropped for a deadline and reloaded from the data instead of moved, if any. */
const reloadedText = (r: RedistributionRecord) =>
  r.exemplarsReloaded > 0 ? `, ${r.exemplarsReloaded} exemplars reloaded from the data (deadline)` : '';

/** Prints a run as it goes: one line per iteration, event and redistribution. */
export class ProgressPrinter implements OptObserver {
  private readonly pending: RedistributionRecord[] = [];
  /** The job is waiting for a host (the line saying so is printed once per wait). */
  private waiting = false;

  constructor(private readonly quiet: boolean) {}

  private line(text: string): void {
    if (!this.quiet) print(`${text}\n`);
  }

  dataLoaded(data: Dataset): void {
    this.line(
      `data: ${data.source} — ${data.train.count} train, ${data.test.count} test, ${data.dim} features, ${data.classes.length} classes`,
    );
    this.line('starting workers and calibrating their speed…');
  }

  onStarted(info: {
    hosts: readonly string[];
    counts: readonly number[];
    unitRates: (number | null)[];
    validation: number;
  }): void {
    const rates = info.unitRates.map((r) => (r === null ? 'unthrottled' : `${Math.round(r)}/s`));
    this.line(
      `workers: ${info.hosts.map((h, i) => `${h} ${info.counts[i]} exemplars (${rates[i]})`).join(', ')}`,
    );
    if (info.validation > 0) {
      this.line(
        `validation: ${info.validation} training exemplars held out on the coordinator; the best iteration's weights are kept`,
      );
    }
  }

  onEvent(record: EventRecord): void {
    const e = record.event;
    const what = e.type === 'load' ? `load ${e.host} ${loadText(e.fraction)}` : `${e.type} ${e.host}`;
    const o = record.outcome;
    const fate = o?.status === 'rejected' ? ` — rejected: ${o.reason}` : '';
    this.line(`  event ${what} received at ${ms(record.receivedAt)}${fate}`);
  }

  onTransition(t: StateTransition): void {
    if (t.actor !== 'pass') return;
    // Otherwise the run would fall silent for as long as --wait-timeout (60 s by default).
    // Once per wait.
    if (t.state === 'waitingForHost' && !this.waiting) {
      this.line(
        '  waiting for a host: the data has nowhere to go (every host vacated, or those left full under their memory caps) until one comes back (--wait-timeout)',
      );
    }
    if (t.state === 'waitingToRecover' && !this.waiting) {
      this.line(
        "  waiting for a host: a failed worker's exemplars have nowhere to go (every other host vacated, or full under its memory cap) until one comes back (--wait-timeout)",
      );
    }
    // An event during a wait passes through `redistributing` (or `recovering`) and back.
    if (t.state === 'waitingForHost' || t.state === 'waitingToRecover') this.waiting = true;
    else if (t.state !== 'redistributing' && t.state !== 'recovering') this.waiting = false;
  }

  onFault(f: FaultRecord): void {
    this.line(
      `  fault: ${f.message} — ${f.exemplarsReloaded} exemplars reloaded from the data onto the other workers in ${ms(f.recoveryMs)}; the pass starts over${cutShort(f)}`,
    );
  }

  onRedistribution(record: RedistributionRecord): void {
    this.pending.push(record);
  }

  onIteration(it: IterationRecord, job: DataParallelJob): void {
    for (const r of this.pending.splice(0)) {
      this.line(
        `  redistribution #${r.index + 1} (${r.reason}): obtrusiveness ${ms(r.obtrusivenessMs)}, migration ${ms(r.migrationMs)}, ${r.exemplarsMoved} exemplars / ${mb(r.bytesMoved)} moved${reloadedText(r)} → ${r.countsAfter.join('/')}`,
      );
    }
    const applied = job.events().filter((e) => e.outcome?.status === 'applied').length;
    this.line(
      `iter ${String(it.iteration).padStart(4)}  error ${errorText(it.trainingError, it.error)}  test ${percent(it.testAccuracy).padStart(6)}${Number.isFinite(it.validationAccuracy) ? `  val ${percent(it.validationAccuracy).padStart(6)} error ${it.validationError.toFixed(4)}` : ''}  exemplars ${it.exemplars.join('/')}  ${rateColumn(job.workers())}  events ${applied}  ${it.seconds.toFixed(1)} s`,
    );
  }

  finished(report: RunReport): void {
    const f = report.final;
    const out = (s: string) => print(`${s}\n`);
    out(
      `done: ${f.iterations} iterations${f.stoppedEarly ? ' (stopped early: --patience)' : ''} (${f.passes} passes) in ${f.seconds.toFixed(1)} s — test accuracy ${percent(f.testAccuracy)}, train accuracy ${percent(f.trainAccuracy)}, training error ${errorText(f.trainingError, f.error)}`,
    );
    if (f.bestIteration !== null) {
      out(
        `kept the weights of iteration ${f.bestIteration}, the lowest error on ${report.data.validation} validation exemplars (${f.validationError.toFixed(5)}, accuracy ${percent(f.validationAccuracy)}); the figures above are theirs`,
      );
    }
    const rs = report.redistributions;
    if (rs.length === 0) out('redistributions: none');
    for (const r of rs) {
      out(
        `redistribution #${r.index + 1} (${r.reason}) ${whenText(r)}: obtrusiveness ${ms(r.obtrusivenessMs)}, migration ${ms(r.migrationMs)}, ${mb(r.bytesMoved)} moved${reloadedText(r)}, after: ${r.countsAfter.join('/')}`,
      );
    }
    for (const f of report.faults)
      out(`fault: ${f.message}; ${f.exemplarsReloaded} exemplars reloaded${cutShort(f)}`);
    const counts = { applied: 0, superseded: 0, rejected: 0, pending: 0 };
    for (const e of report.events) counts[e.outcome]++;
    const replayed = report.events.filter((e) => e.replayed).length;
    out(
      `events: ${report.events.length} received — ${counts.applied} applied, ${counts.superseded} superseded, ${counts.rejected} rejected${counts.pending > 0 ? `, ${counts.pending} still pending when the run ended` : ''}${replayed > 0 ? ` (${replayed} of them sent again at the resume, to put the hosts back as they were at the checkpoint)` : ''}`,
    );
    // A host's measured speed is its full-load figure, kept after it stops working: a loaded
    // host's figure now is shown beside it, and why a host holds nothing is said.
    const lost = new Set(report.faults.map((f) => f.host));
    const state = (w: WorkerRecord) => (lost.has(w.host) ? ' (lost)' : w.available ? '' : ' (unavailable)');
    out(
      `workers: ${report.workers
        .map((w) => `${w.host} speed ${w.declaredSpeed} ${measuredText(w)}${state(w)}`)
        .join(', ')}`,
    );
  }
}

/**
 * Each worker's exemplars/s now and their total, e.g. "exemplars/s 19k/19k/39k/78k = 155k":
 * its measured speed times the share of it its host leaves the job (the last `load` event the
 * job has applied), and "–" for a worker that computes nothing now (it holds no exemplars:
 * vacated, lost, or not given any; or its host is unavailable). The estimator keeps a host's speed after it stops
 * working, for when it comes back: summed as it is, a vacated host's speed made the total
 * overstate what the job computes.
 */
export function rateColumn(workers: readonly WorkerRecord[]): string {
  const now = workers.map((w) =>
    w.measuredRate === null || w.exemplars === 0 || !w.available ? null : w.measuredRate * w.load,
  );
  if (now.every((r) => r === null)) return 'exemplars/s –';
  const k = (r: number) => (r >= 10_000 ? `${Math.round(r / 1000)}k` : String(Math.round(r)));
  const total = now.reduce<number>((sum, r) => sum + (r ?? 0), 0);
  return `exemplars/s ${now.map((r) => (r === null ? '–' : k(r))).join('/')} = ${k(total)}`;
}
