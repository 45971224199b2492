import { createActor, fromPromise, toPromise } from 'xstate';
import type { KernelModule } from '../../framework/app/kernel.ts';
import { applyStandardisation, type Dataset, fitStandardisation } from '../../framework/datasets/index.ts';
import {
  columnsFromTable,
  type DataParallelJob,
  type EventRecord,
  type FaultPlan,
  type FaultRecord,
  JobInterrupted,
  moduleBeside,
  type RedistributionRecord,
  type SchedulerEvent,
  SeededRandom,
  type StateTransition,
  startJob,
  type WorkerTransport,
} from '../../framework/index.ts';
import { firstLine } from '../../framework/util/first-line.ts';
import { type Trace, TraceScheduler } from '../../scheduler-stub/index.ts';
import { BestWeights } from './best-weights.ts';
import { checkResumeFits, fingerprintOf, type ResumeFrom, writeCheckpoint } from './checkpoint.ts';
import { earliestEarlyStop, patienceRunsOut } from './early-stopping.ts';
import {
  accuracy,
  addWeightDecay,
  createOptimiser,
  decayPenalty,
  initWeights,
  type NetworkShape,
  type OptKernel,
  parameterCount,
  restoreOptimiser,
} from './model/index.ts';
import type { OptModel } from './model-file.ts';
import { optMachine } from './opt-machine.ts';
import {
  eventReport,
  type IterationRecord,
  type LoadReadingReport,
  machineInfo,
  REPORT_SCHEMA_VERSION,
  type RunReport,
} from './report.ts';
import { hostNames, type OptSettings } from './settings.ts';
import { ValidationScorer } from './validation-score.ts';
import { splitValidation } from './validation-split.ts';

/** The module each worker imports for its kernel (agents resolve it in their own installation). */
const KERNEL_MODULES = {
  simd: moduleBeside(import.meta.url, './model/simd-kernel'),
  js: moduleBeside(import.meta.url, './model/kernel'),
} as const;

/** What a running job tells whoever watches it (the CLI prints it). */
export interface OptObserver {
  onStarted?(info: {
    hosts: readonly string[];
    counts: readonly number[];
    unitRates: (number | null)[];
    /** Training rows held out for validation on the coordinator (0: none). */
    validation: number;
  }): void;
  onIteration?(it: IterationRecord, job: DataParallelJob): void;
  onEvent?(record: EventRecord): void;
  onRedistribution?(record: RedistributionRecord): void;
  onTransition?(t: StateTransition): void;
  onFault?(f: FaultRecord): void;
}

export interface OptRun {
  readonly report: RunReport;
  readonly model: OptModel;
  /** The error a failed run stopped on (`report.status` "failed"): the caller rethrows it. */
  readonly failure?: unknown;
}

/** How a run is stopped, saved and continued. */
export interface RunControl {
  /** Stop cleanly after the current iteration (Ctrl-C / SIGTERM); the report says "interrupted". */
  readonly signal?: AbortSignal;
  /** Write a checkpoint every `every` iterations (and at the end). */
  readonly checkpoint?: { readonly path: string; readonly every: number };
  /** Continue from this checkpoint (read and checked by readCheckpointFile before any work). */
  readonly resume?: ResumeFrom;
  /** Faults to inject into workers, by index (`--inject-fault`). */
  readonly injectFaults?: ReadonlyMap<number, FaultPlan>;
  /** Extra settings to record in the report (e.g. the flags as given). */
  readonly reportSettings?: Record<string, unknown>;
  /** The kernel's single-worker rate measured elsewhere (benchmarks comparing runs share one). */
  readonly soloRate?: number;
  /** Rebalance on measured speeds alone (default true). */
  readonly rebalance?: boolean;
  /** The hosts, one per `settings.speeds` item (default h0 … h(N-1), no memory caps). */
  readonly hosts?: readonly { readonly name: string; readonly maxBytes?: number }[];
  /** How workers are started (default: threads on this machine; agents with --hosts). */
  readonly transport?: WorkerTransport;
  /** Called once the job runs: events may be sent to it from elsewhere (the control port). */
  readonly onJob?: (job: DataParallelJob) => void;
  /** The agents' load readings that caused events (`--load-watch`), for the report. */
  readonly loadReadings?: () => readonly LoadReadingReport[];
}

/**
 * Train Opt on `data` with `settings`, playing `trace` against the job: load, start the
 * workers, run the Opt machine to its end, and return the run report and the model.
 */
export async function trainOpt(
  data: Dataset,
  settings: OptSettings,
  trace: Trace,
  observer: OptObserver = {},
  control: RunControl = {},
): Promise<OptRun> {
  const loadStarted = performance.now();
  // Validation rows never reach a worker, and the standardisation is fitted on the rows
  // trained on, so nothing about the held-out rows leaks into the training.
  const split = splitValidation(data.train, settings.validationFraction, settings.seed);
  const standardisation = settings.standardise ? fitStandardisation(split.train) : null;
  const standardised = (t: Dataset['train']) =>
    standardisation ? applyStandardisation(t, standardisation) : t;
  const train = standardised(split.train);
  const validation = standardised(split.validation);
  const test = standardised(data.test);
  const shape: NetworkShape = {
    inputs: data.dim,
    hidden: settings.hidden,
    outputs: Math.max(2, data.classes.length),
    loss: settings.loss,
  };
  const rng = new SeededRandom(settings.seed);
  const fingerprint = fingerprintOf({
    data: [data.source, data.dim, data.train.count, data.test.count, data.classes.length],
    hidden: settings.hidden,
    loss: settings.loss,
    weightDecay: settings.weightDecay,
    validationFraction: settings.validationFraction,
    patience: settings.patience,
    kernel: settings.kernel,
    optimizer: settings.optimizer,
    seed: settings.seed,
    standardise: settings.standardise,
  });
  if (control.resume) checkResumeFits(control.resume, fingerprint, parameterCount(shape));
  const resumed = control.resume?.checkpoint ?? null;
  const optimiser = resumed
    ? restoreOptimiser(resumed.optimiser)
    : createOptimiser(settings.optimizer, initWeights(shape, rng));
  const initial = optimiser.weights;
  const best = new BestWeights(resumed?.best ?? null);
  // The kernel the workers run, here on the coordinator: the validation error and both accuracies.
  const kernel = ((await import(KERNEL_MODULES[settings.kernel])) as KernelModule<OptKernel>).createKernel(
    shape,
  );
  const scorer = validation.count > 0 ? new ValidationScorer(shape, kernel, validation) : null;
  const earliestStop = earliestEarlyStop(trace);
  // Patience ends a run only once the trace has fired its last iteration-timed event and the
  // job has applied (or superseded, or rejected) every event it received: a return may wait
  // for a later pass boundary, and the run must not end before it.
  const patienceOut = (iteration: number, job: DataParallelJob) =>
    validation.count > 0 &&
    patienceRunsOut({
      patience: settings.patience,
      sinceBest: best.sinceBest,
      iteration,
      earliest: earliestStop,
    }) &&
    job.events().every((e) => e.outcome !== undefined);
  const loadMs = performance.now() - loadStarted;

  let t0 = performance.now();
  const clock = () => performance.now() - t0;
  const workersStarted = performance.now();
  const job = await startJob(settings.mode, {
    kernelModule: KERNEL_MODULES[settings.kernel],
    kernelConfig: shape,
    train: columnsFromTable(train.features, train.labels, train.dim),
    hosts: (control.hosts ?? hostNames(settings.speeds.length).map((name) => ({ name }))).map((h, i) => ({
      ...h,
      speed: settings.speeds[i],
    })),
    transport: control.transport,
    emulateSpeeds: settings.emulate,
    calibrationParams: initial,
    clock,
    waitTimeoutMs: settings.waitTimeoutMs,
    livenessMs: settings.livenessMs,
    minGain: settings.minGain,
    onRedistribution: (r) => observer.onRedistribution?.(r),
    onTransition: (t) => observer.onTransition?.(t),
    onFault: (f) => observer.onFault?.(f),
    injectFaults: control.injectFaults,
    // Ctrl-C while every host is vacated ends the wait at once (JobInterrupted, below).
    signal: control.signal,
    soloRate: control.soloRate,
    rebalance: control.rebalance,
  });
  const startWorkersMs = performance.now() - workersStarted;
  const scheduler = new TraceScheduler(trace, {
    send: (event: SchedulerEvent) => {
      observer.onEvent?.(job.send(event));
    },
    sendTogether: (events: readonly SchedulerEvent[]) => {
      for (const record of job.sendTogether(events)) observer.onEvent?.(record);
    },
  });
  try {
    observer.onStarted?.({
      hosts: job.hosts.map((h) => h.name),
      counts: job.counts(),
      unitRates: job.workers().map((w) => w.emulatedRate),
      validation: validation.count,
    });
    const runClockAt = performance.now() - (resumed?.elapsedMs ?? 0);
    // The states the workers went through while they started were stamped on the clock
    // before this one: re-dated below, they come before the run's time 0 (negative).
    const startUpStates = job.stateTransitions().length;
    const startUpShift = runClockAt - t0;
    t0 = runClockAt;
    // After the run clock starts: an event sent at once (an agent's load reading that came
    // while the workers started) is received at the run's time 0, not before its start.
    control.onJob?.(job);
    // A resumed run replays the trace's events it had already passed (iteration- and
    // ms-timed), at once, so the hosts are in the state they were in when the checkpoint was
    // written; ms-timed ones still to come fire at their times on the run's clock.
    const sentBefore = job.events().length;
    scheduler.start(
      resumed
        ? {
            elapsedMs: resumed.elapsedMs,
            iterations: resumed.iteration,
            // A checkpoint has every iteration's record (their seconds are on the run's clock).
            iterationMs: (n) => (resumed.iterations[n - 1]?.seconds ?? resumed.elapsedMs / 1000) * 1000,
          }
        : undefined,
    );
    const replayed = new Set(
      resumed
        ? job
            .events()
            .slice(sentBefore)
            .map((e) => e.seq)
        : [],
    );
    const iterations: IterationRecord[] = [...(resumed?.iterations ?? [])];
    let passes = resumed?.passes ?? 0;
    const saveCheckpoint = async (iteration: number, current: IterationRecord, stoppedEarly: boolean) => {
      if (!control.checkpoint) return;
      await writeCheckpoint(control.checkpoint.path, {
        format: 'admove-opt-checkpoint',
        version: 1,
        fingerprint,
        iteration,
        optimiser: optimiser.toJSON(),
        best: best.toJSON(),
        stoppedEarly,
        iterations: [...iterations, current],
        passes,
        elapsedMs: clock(),
      });
    };
    const evaluate = async (weights: Float64Array) => {
      const acc = await job.pass(weights);
      passes++;
      const count = acc[1];
      // The framework's guarantee, checked on every pass: each exemplar counted exactly once.
      if (count !== job.trainCount) {
        throw new Error(`pass ${passes} counted ${count} exemplars, expected ${job.trainCount}`);
      }
      const gradient = new Float64Array(acc.length - 2);
      for (let p = 0; p < gradient.length; p++) gradient[p] = acc[2 + p] / count;
      // Decay once here, on the whole pass's mean: the workers' sums stay plain data sums.
      const error = addWeightDecay(shape, settings.weightDecay, weights, acc[0] / count, gradient);
      return { error, gradient };
    };
    // The error SCG minimises has the decay term in it; without it, it compares with the validation error.
    const dataError = (error: number, weights: Float64Array) =>
      error - decayPenalty(shape, settings.weightDecay, weights);
    /** The record of iteration `iteration` just done (the checkpoint's and the report's). */
    const iterationRecord = (
      iteration: number,
      testAccuracy: number,
      score: { error: number; accuracy: number } | null,
    ): IterationRecord => ({
      iteration,
      error: optimiser.error,
      trainingError: dataError(optimiser.error, optimiser.weights),
      testAccuracy,
      validationError: score?.error ?? Number.NaN,
      validationAccuracy: score?.accuracy ?? Number.NaN,
      seconds: clock() / 1000,
      exemplars: [...job.counts()],
    });
    const accuracyOn = (rows: Dataset['test'], weights: Float64Array) =>
      rows.count > 0
        ? accuracy(kernel.predict(rows.features, rows.count, rows.dim, weights), rows.labels)
        : Number.NaN;
    const machine = optMachine.provide({
      actors: {
        step: fromStep(async () => {
          const result = await optimiser.step(evaluate);
          return { error: result.error, converged: optimiser.converged };
        }),
        test: fromStep(async (iteration: number) => {
          const testAccuracy = accuracyOn(test, optimiser.weights);
          const score = scorer?.score(optimiser.weights) ?? null;
          if (score) best.observe(iteration, score, optimiser.weights);
          // At the last iteration the run ends anyway: not an early stop.
          const stopEarly = iteration < settings.iterations && patienceOut(iteration, job);
          const every = control.checkpoint?.every ?? 0;
          const due =
            iteration % every === 0 ||
            iteration === settings.iterations ||
            stopEarly ||
            control.signal?.aborted;
          if (every > 0 && due) {
            await saveCheckpoint(iteration, iterationRecord(iteration, testAccuracy, score), stopEarly);
          }
          return { testAccuracy, validation: score, stopEarly };
        }),
      },
      guards: {
        finished: ({ context }) =>
          control.signal?.aborted === true ||
          context.converged ||
          context.stoppedEarly ||
          context.iteration >= context.maxIterations,
      },
      actions: {
        iterationDone: (_, p) => {
          const record = iterationRecord(p.iteration, p.testAccuracy, p.validation);
          iterations.push(record);
          observer.onIteration?.(record, job);
          scheduler.onIteration(p.iteration);
        },
      },
    });
    const actor = createActor(machine, {
      input: {
        maxIterations: settings.iterations,
        startIteration: resumed?.iteration ?? 0,
        // A checkpoint written as patience ran out resumes to the same end, not a step more.
        stoppedEarly: resumed?.stoppedEarly ?? false,
      },
    });
    actor.start();
    const out = await toPromise(actor);
    scheduler.stop();
    // Interrupted while waiting for a host: the step in progress is abandoned; the optimiser
    // still holds the last accepted weights, and the last checkpoint stays as it was.
    const abandoned = out.failure instanceof JobInterrupted && control.signal?.aborted === true;
    // A run that stops on an error still has a report to give (what ran, and why it stopped):
    // the caller writes it, then fails with the error.
    const failure = out.failure !== undefined && !abandoned ? out.failure : undefined;
    // A resumed run whose checkpoint was already at the last iteration takes no step: its
    // figures are the restored optimiser's, not the machine's NaN starting values.
    const stepped = out.iterations > (resumed?.iteration ?? 0);
    // The weights the run keeps: the best iteration's on the validation rows, else the last.
    const kept = best.weights ?? optimiser.weights;
    const keptRecord = best.iteration === null ? undefined : iterations[best.iteration - 1];
    const finalError = keptRecord?.error ?? (stepped ? out.error : optimiser.error);
    const trainAccuracy = accuracyOn(train, kept);
    const report: RunReport = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      tool: 'admove',
      app: 'opt',
      createdAt: new Date().toISOString(),
      machine: machineInfo(),
      status: failure !== undefined ? 'failed' : control.signal?.aborted ? 'interrupted' : 'completed',
      // Its one line, as the CLI prints it; never a stack.
      ...(failure !== undefined
        ? { failure: firstLine(failure instanceof Error ? failure.message : String(failure)) }
        : {}),
      ...(resumed && control.resume
        ? { resumedFrom: { path: control.resume.path, iteration: resumed.iteration } }
        : {}),
      settings: { ...settings, ...control.reportSettings },
      data: {
        source: data.source,
        features: data.dim,
        classes: data.classes,
        train: train.count,
        validation: validation.count,
        test: data.test.count,
      },
      setup: { loadMs, startWorkersMs },
      final: {
        testAccuracy: keptRecord || !stepped ? accuracyOn(test, kept) : out.testAccuracy,
        trainAccuracy,
        error: finalError,
        trainingError: dataError(finalError, kept),
        iterations: out.iterations,
        bestIteration: best.iteration,
        validationError: best.score?.error ?? Number.NaN,
        validationAccuracy: best.score?.accuracy ?? Number.NaN,
        stoppedEarly: out.stoppedEarly,
        converged: out.converged,
        seconds: clock() / 1000,
        passes,
      },
      iterations,
      events: job.events().map((e) => eventReport(e, replayed)),
      redistributions: job.redistributions(),
      faults: job.faults(),
      loadReadings: [...(control.loadReadings?.() ?? [])],
      workers: job.workers(),
      states: job
        .stateTransitions()
        .map((t, k) => (k < startUpStates ? { ...t, at: t.at - startUpShift } : t)),
    };
    const model: OptModel = {
      format: 'admove-opt-model',
      version: 1,
      shape,
      classes: [...data.classes],
      standardisation: standardisation
        ? { mean: [...standardisation.mean], std: [...standardisation.std] }
        : null,
      weights: [...kept],
      trainedOn: data.source,
      ...(data.layout ? { csv: data.layout } : {}),
      validation:
        best.iteration === null
          ? null
          : {
              rows: validation.count,
              bestIteration: best.iteration,
              error: best.score?.error ?? 0,
              accuracy: best.score?.accuracy ?? 0,
            },
    };
    return { report, model, failure };
  } finally {
    scheduler.stop();
    await job.close();
  }
}

/** A promise actor for one of Opt's states, given the iteration it is for. */
function fromStep<O>(run: (iteration: number) => Promise<O>) {
  return fromPromise<O, { iteration: number }>(({ input }) => run(input.iteration));
}
