import { UserError } from '../../framework/errors.ts';
import { writeFileAtomic } from './atomic-file.ts';
import type { BestState } from './best-weights.ts';
import { JsonFields } from './json-fields.ts';
import { restoreOptimiser } from './model/index.ts';
import { readJsonFile } from './read-json-file.ts';
import type { IterationRecord } from './report.ts';

/**
 * What Opt needs to continue after its coordinator crashed: the optimiser's exact state
 * (weights and CG state), the iteration reached, and the run so far. With an
 * iteration-timed trace and the same settings, a resumed run reaches the result of an
 * uninterrupted one (up to float summation order across workers).
 */
export interface OptCheckpoint {
  readonly format: 'admove-opt-checkpoint';
  readonly version: 1;
  /** Identifies the data and the settings it was made with; resume refuses a mismatch. */
  readonly fingerprint: string;
  readonly iteration: number;
  readonly optimiser: unknown;
  /** The best iteration on the validation rows and the patience counter; null without a split. */
  readonly best: BestState | null;
  /** Written as --patience ended the run: a resumed run has nothing left to do. */
  readonly stoppedEarly: boolean;
  readonly iterations: readonly IterationRecord[];
  readonly passes: number;
  /** ms on the run clock when it was written (the resumed run's clock continues from here). */
  readonly elapsedMs: number;
}

/** Written whole or not at all (see atomic-file.ts), so a checkpoint on disk is always whole. */
export async function writeCheckpoint(path: string, checkpoint: OptCheckpoint): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(checkpoint));
}

/** A checkpoint read and checked field by field, and where it came from. */
export interface ResumeFrom {
  readonly path: string;
  readonly checkpoint: OptCheckpoint;
}

const FIX = 'checkpoints are written by admove opt --checkpoint FILE; start again without --resume';

/**
 * Reads `--resume FILE` and checks every field before any data is read or a thread started:
 * the optimiser state restores, its vectors agree in length, the iteration history is whole,
 * and the iteration reached is within `--iterations`.
 */
export async function readCheckpointFile(path: string, maxIterations: number): Promise<ResumeFrom> {
  const value = await readJsonFile(path, { name: `--resume ${path}`, what: 'a checkpoint', fix: FIX });
  const f = new JsonFields(path, FIX);
  const c = f.object(value, '(top level)');
  if (c['format'] !== 'admove-opt-checkpoint') throw f.fail('format', 'must be "admove-opt-checkpoint"');
  if (c['version'] !== 1) throw f.fail('version', 'must be 1');
  f.string(c['fingerprint'], 'fingerprint');
  const iteration = f.number(c['iteration'], 'iteration', { integer: true, min: 0 });
  if (iteration > maxIterations) {
    throw new UserError(
      `--resume ${path}: the checkpoint is at iteration ${iteration}, beyond --iterations ${maxIterations}; give --iterations ${iteration} or more`,
    );
  }
  f.number(c['passes'], 'passes', { integer: true, min: 0 });
  f.number(c['elapsedMs'], 'elapsedMs', { min: 0 });
  const history = f.objects(c['iterations'], 'iterations');
  if (history.length !== iteration) {
    throw f.fail(
      'iterations',
      `must hold one record per iteration done (${iteration}), got ${history.length}`,
    );
  }
  history.forEach(({ item, at }, k) => {
    if (item['iteration'] !== k + 1) throw f.fail(`${at}.iteration`, `must be ${k + 1}`);
    f.numberOrNull(item['error'], `${at}.error`);
    f.numberOrNull(item['testAccuracy'], `${at}.testAccuracy`);
    f.numberOrNull(item['validationError'], `${at}.validationError`);
    f.numberOrNull(item['validationAccuracy'], `${at}.validationAccuracy`);
    f.number(item['seconds'], `${at}.seconds`, { min: 0 });
    f.numbers(item['exemplars'], `${at}.exemplars`);
  });
  checkOptimiserState(f, c['optimiser']);
  f.boolean(c['stoppedEarly'], 'stoppedEarly');
  checkBest(f, c['best'], iteration, (c['optimiser'] as { weights: unknown[] }).weights.length);
  return { path, checkpoint: c as unknown as OptCheckpoint };
}

/** Vectors each optimiser keeps, all as long as its weights. */
const VECTORS: Record<string, readonly string[]> = { scg: ['r', 'p'], prcg: ['g', 'd'] };

function checkOptimiserState(f: JsonFields, value: unknown): void {
  const o = f.object(value, 'optimiser');
  const kind = o['kind'];
  if (typeof kind !== 'string' || !(kind in VECTORS)) {
    throw f.fail('optimiser.kind', `must be "scg" or "prcg", got ${JSON.stringify(kind) ?? 'nothing'}`);
  }
  const n = f.numbers(o['weights'], 'optimiser.weights').length;
  if (n === 0) throw f.fail('optimiser.weights', 'must not be empty');
  for (const name of VECTORS[kind]) {
    const other = f.numbers(o[name], `optimiser.${name}`).length;
    if (other !== n) {
      throw f.fail(
        'optimiser.weights',
        `has ${n} numbers but optimiser.${name} has ${other}; the file is damaged`,
      );
    }
  }
  try {
    restoreOptimiser(o);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const field = /field (\w+)/.exec(message)?.[1];
    throw f.fail(field ? `optimiser.${field}` : 'optimiser', `is wrong (${message.replace(/\s+/g, ' ')})`);
  }
}

/**
 * The best-weights bookkeeping: null, or an iteration already done with its scores, as many
 * weights as the optimiser holds, and a patience counter that counts the iterations since.
 */
function checkBest(f: JsonFields, value: unknown, iteration: number, weightCount: number): void {
  if (value === null) return;
  if (value === undefined)
    throw f.fail('best', 'must be an object or null, got nothing (the field is missing)');
  const b = f.object(value, 'best');
  const at = f.number(b['iteration'], 'best.iteration', { integer: true, min: 1 });
  if (at > iteration)
    throw f.fail('best.iteration', `must be at most the checkpoint's iteration ${iteration}, got ${at}`);
  f.number(b['validationError'], 'best.validationError', { min: 0 });
  const accuracy = f.number(b['validationAccuracy'], 'best.validationAccuracy', { min: 0 });
  if (accuracy > 1) throw f.fail('best.validationAccuracy', `must be a fraction in [0, 1], got ${accuracy}`);
  f.numbers(b['weights'], 'best.weights', weightCount);
  const since = f.number(b['sinceBest'], 'best.sinceBest', { integer: true, min: 0 });
  // Every iteration after the best one failed to beat it, so the counter is fixed by the two.
  if (since !== iteration - at) {
    throw f.fail(
      'best.sinceBest',
      `must be ${iteration - at} (iterations since best.iteration ${at}), got ${since}`,
    );
  }
}

/**
 * Once the data is loaded: the checkpoint was made with this data and these settings, and
 * its weights fit the network they build.
 */
export function checkResumeFits(resume: ResumeFrom, fingerprint: string, weightCount: number): void {
  const { path, checkpoint } = resume;
  if (checkpoint.fingerprint !== fingerprint) {
    throw new UserError(
      `--resume ${path}: it was made with other data or settings (${fingerprintChanges(checkpoint.fingerprint, fingerprint)}); resume with the same flags as the run that wrote it`,
    );
  }
  const weights = (checkpoint.optimiser as { weights: readonly number[] }).weights.length;
  if (weights !== weightCount) {
    throw new JsonFields(path, FIX).fail(
      'optimiser.weights',
      `has ${weights} numbers, but the network of these settings has ${weightCount}`,
    );
  }
}

/** The data and settings that must match for a resume to continue the same run. */
export function fingerprintOf(parts: Record<string, unknown>): string {
  return JSON.stringify(parts);
}

/** The flag behind each setting of the fingerprint (train.ts), for messages. */
const FINGERPRINT_FLAGS: Readonly<Record<string, string>> = {
  data: 'the data (--data, --synthetic and the split flags)',
  hidden: '--hidden',
  loss: '--loss',
  weightDecay: '--weight-decay',
  validationFraction: '--validation-fraction',
  patience: '--patience',
  kernel: '--kernel',
  optimizer: '--optimizer',
  seed: '--seed',
  standardise: '--no-standardise',
};

/**
 * What differs between the checkpoint's fingerprint and this run's, flag by flag
 * (`--hidden: 32 in the checkpoint, 7 now`), so a user sees which flag to change. A
 * checkpoint whose settings are not this version's (another admove wrote it) is said to be
 * that, and one that is not an object of settings is quoted whole.
 */
export function fingerprintChanges(then: string, now: string): string {
  let a: Record<string, unknown>;
  let b: Record<string, unknown>;
  try {
    a = JSON.parse(then);
    b = JSON.parse(now);
  } catch {
    return then;
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return then;
  const keys = (x: object) => Object.keys(x).sort().join(',');
  if (keys(a) !== keys(b)) return `its settings are those of another admove version: ${then}`;
  const changes: string[] = [];
  for (const key of Object.keys(b)) {
    const was = JSON.stringify(a[key]);
    const is = JSON.stringify(b[key]);
    if (was !== is) changes.push(`${FINGERPRINT_FLAGS[key] ?? key}: ${was} in the checkpoint, ${is} now`);
  }
  return changes.length > 0 ? changes.join('; ') : then;
}
