import { readFile, rename, writeFile } from 'node:fs/promises';
import { UserError } from '../../framework/index.ts';
import type { NetworkShape } from './model/index.ts';

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
}

/** Written whole or not at all (temporary file, then rename). */
export async function saveModel(path: string, model: OptModel): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(model)}\n`);
  await rename(temporary, path);
}

export async function loadModel(path: string): Promise<OptModel> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(
      `${path}: cannot read the model file (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(
      `${path}: not a model file (not JSON); write one with admove opt --save-model ${path}`,
    );
  }
  return checkModel(value, path);
}

function checkModel(value: unknown, path: string): OptModel {
  const m = value as Partial<OptModel> | null;
  const bad = (field: string, want: string) =>
    new UserError(`${path}: field "${field}" ${want}; write the model with admove opt --save-model`);
  if (typeof m !== 'object' || m === null || m.format !== 'admove-opt-model')
    throw bad('format', 'must be "admove-opt-model"');
  if (m.version !== 1) throw bad('version', 'must be 1');
  const s = m.shape;
  if (!s || ![s.inputs, s.hidden, s.outputs].every((n) => Number.isInteger(n) && n > 0)) {
    throw bad('shape', 'must give whole numbers inputs, hidden, outputs');
  }
  if (s.loss !== 'mse' && s.loss !== 'xent') throw bad('shape.loss', 'must be "mse" or "xent"');
  const count = s.hidden * s.inputs + s.hidden + s.outputs * s.hidden + s.outputs;
  if (!Array.isArray(m.weights) || m.weights.length !== count || !m.weights.every(Number.isFinite)) {
    throw bad('weights', `must be ${count} finite numbers`);
  }
  if (!Array.isArray(m.classes) || m.classes.length > s.outputs)
    throw bad('classes', 'must list the class names');
  const st = m.standardisation;
  if (st !== null && (!st || st.mean?.length !== s.inputs || st.std?.length !== s.inputs)) {
    throw bad('standardisation', `must be null or { mean, std } of ${s.inputs} numbers each`);
  }
  return m as OptModel;
}
