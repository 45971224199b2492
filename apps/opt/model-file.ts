import type { CsvLayout } from '../../framework/datasets/index.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { JsonFields } from './json-fields.ts';
import type { NetworkShape } from './model/index.ts';
import { readJsonFile } from './read-json-file.ts';

/** A trained Opt network with what it needs to be used on new data. */
export interface OptModel {
  readonly format: 'admove-opt-model';
  readonly version: 1;
  readonly shape: NetworkShape;
  readonly classes: readonly string[];
  /** Feature standardisation from the training set (null: features used as they are). */
  readonly standardisation: { readonly mean: readonly number[]; readonly std: readonly number[] } | null;
  readonly weights: readonly number[];
  readonly trainedOn: string;
  /**
   * The training file's columns (a CSV file only; absent in models written before it was
   * added): `admove predict` reads files the same way unless its flags say otherwise.
   */
  readonly csv?: CsvLayout;
  /**
   * How the weights were chosen: the iteration with the lowest mean error on `rows` held-out
   * training rows. Null (or absent, in models written before validation) when they are the
   * last iteration's.
   */
  readonly validation?: {
    readonly rows: number;
    readonly bestIteration: number;
    readonly error: number;
    readonly accuracy: number;
  } | null;
}

/** Written whole or not at all (see atomic-file.ts). */
export async function saveModel(path: string, model: OptModel): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(model)}\n`);
}

export async function loadModel(path: string): Promise<OptModel> {
  const value = await readJsonFile(path, {
    name: path,
    what: 'a model file',
    fix: 'write one with admove opt --save-model FILE',
  });
  return checkModel(value, path);
}

/** Every field, before any row is read: a model that parses but is wrong inside is refused. */
function checkModel(value: unknown, path: string): OptModel {
  const f = new JsonFields(path, 'write the model with admove opt --save-model FILE');
  const m = f.object(value, '(top level)');
  if (m['format'] !== 'admove-opt-model') throw f.fail('format', 'must be "admove-opt-model"');
  if (m['version'] !== 1) throw f.fail('version', 'must be 1');
  const s = f.object(m['shape'], 'shape');
  const inputs = f.number(s['inputs'], 'shape.inputs', { integer: true, min: 1 });
  const hidden = f.number(s['hidden'], 'shape.hidden', { integer: true, min: 1 });
  const outputs = f.number(s['outputs'], 'shape.outputs', { integer: true, min: 2 });
  if (s['loss'] !== 'mse' && s['loss'] !== 'xent') throw f.fail('shape.loss', 'must be "mse" or "xent"');
  const count = hidden * inputs + hidden + outputs * hidden + outputs;
  if (count > 50_000_000)
    throw f.fail('shape', `asks for ${count} weights, more than any model admove writes`);
  f.numbers(m['weights'], 'weights', count);
  const classes = f.array(m['classes'], 'classes');
  if (classes.length < 2 || classes.length > outputs) {
    throw f.fail('classes', `must list 2 to ${outputs} class names, got ${classes.length}`);
  }
  classes.forEach((c, i) => {
    f.string(c, `classes[${i}]`);
  });
  if (m['standardisation'] !== null) {
    const st = f.object(m['standardisation'], 'standardisation');
    f.numbers(st['mean'], 'standardisation.mean', inputs);
    f.numbers(st['std'], 'standardisation.std', inputs).forEach((sd, j) => {
      if (!(sd > 0))
        throw f.fail(`standardisation.std[${j}]`, `must be > 0 (it divides the feature), got ${sd}`);
    });
  }
  f.string(m['trainedOn'], 'trainedOn');
  if (m['csv'] !== undefined) {
    const c = f.object(m['csv'], 'csv');
    if (typeof c['header'] !== 'boolean') throw f.fail('csv.header', 'must be true or false');
    f.number(c['columnCount'], 'csv.columnCount', { integer: true, min: 2 });
    const column = (v: unknown, at: string) => {
      if (typeof v === 'string') return;
      f.number(v, at, { integer: true, min: 0 });
    };
    column(c['labelColumn'], 'csv.labelColumn');
    f.array(c['ignoreColumns'], 'csv.ignoreColumns').forEach((v, i) => {
      column(v, `csv.ignoreColumns[${i}]`);
    });
  }
  if (m['validation'] !== undefined && m['validation'] !== null) {
    const v = f.object(m['validation'], 'validation');
    f.number(v['rows'], 'validation.rows', { integer: true, min: 1 });
    f.number(v['bestIteration'], 'validation.bestIteration', { integer: true, min: 1 });
    f.number(v['error'], 'validation.error', { min: 0 });
    const accuracy = f.number(v['accuracy'], 'validation.accuracy', { min: 0 });
    if (accuracy > 1) throw f.fail('validation.accuracy', `must be a fraction in [0, 1], got ${accuracy}`);
  }
  return m as unknown as OptModel;
}
