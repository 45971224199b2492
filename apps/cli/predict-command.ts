import { loadUnsplitCsv } from '../../framework/datasets/index.ts';
import { UserError } from '../../framework/errors.ts';
import { writeFileAtomic } from '../opt/atomic-file.ts';
import { loadModel } from '../opt/model-file.ts';
import { predictWithModel } from '../opt/predict.ts';
import { byteSizeFlag, columnFlag, columnListFlag, type FlagSpec, parseFlags, stringFlag } from './flags.ts';
import { checkOutputPaths } from './output-paths.ts';
import { print } from './stdout.ts';

export const PREDICT_HELP = `admove predict — classify a CSV file with a model saved by admove opt --save-model

Usage: admove predict --model MODEL.json --data FILE.csv [flags]

  --model FILE             the model (weights, classes and feature standardisation)
  --data FILE.csv          exemplars, one per line, with the same feature columns as in training
  --label-column NAME|I    the class column, if the file has one: accuracy is then printed too
                           (default: the training file's, if this file has it)
  --header                 the first line names the columns (default: as the training file)
  --no-header              the first line is data; name columns by 0-based index (default: as
                           the training file)
  --ignore-columns LIST    columns that are not features, e.g. id (default: the training
                           file's ignored and split columns)
  --out FILE.csv           write one predicted class per line (default: print them)
  --max-memory SIZE        refuse a data file larger than this (default 4GB)
  --help                   show this help
`;

const SPEC: FlagSpec = {
  model: { type: 'string' },
  data: { type: 'string' },
  'label-column': { type: 'string' },
  header: { type: 'boolean' },
  'no-header': { type: 'boolean' },
  'ignore-columns': { type: 'string' },
  out: { type: 'string' },
  'max-memory': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export async function predictCommand(argv: readonly string[]): Promise<number> {
  const values = parseFlags('predict', argv, SPEC);
  if (values.help) {
    print(PREDICT_HELP);
    return 0;
  }
  const modelPath = stringFlag(values, 'model');
  const dataPath = stringFlag(values, 'data');
  if (!modelPath)
    throw new UserError('admove predict needs --model FILE (write one with admove opt --save-model FILE)');
  if (!dataPath) throw new UserError('admove predict needs --data FILE.csv, the exemplars to classify');
  const out = stringFlag(values, 'out');
  await checkOutputPaths(
    [{ flag: '--out', path: out }],
    [
      { flag: '--model', path: modelPath },
      { flag: '--data', path: dataPath },
    ],
  );
  // Every flag is read before any file is.
  const labelFlag = columnFlag(values, 'label-column');
  const ignoreFlag = columnListFlag(values, 'ignore-columns');
  const maxBytes = byteSizeFlag(values, 'max-memory', 4 * 2 ** 30);
  if (values.header && values['no-header']) throw new UserError('give --header or --no-header, not both');
  const model = await loadModel(modelPath);
  // Unless told otherwise, a file is read as the training file was (the model keeps how):
  // its label column, if this file has one, and the columns that were not features.
  const layout = model.csv;
  const csvOptions = {
    labelColumn: labelFlag,
    ignoreColumns: ignoreFlag,
    ...(layout ? { training: layout } : {}),
    header: values['no-header'] ? false : values.header ? true : (layout?.header ?? true),
    maxBytes,
  };
  const rows = await loadUnsplitCsv(dataPath, csvOptions);
  if (rows.dim !== model.shape.inputs) {
    throw new UserError(
      `${dataPath}: ${rows.dim} feature columns, but the model was trained on ${model.shape.inputs}; give --label-column or --ignore-columns so the features match`,
    );
  }
  const predicted = predictWithModel(model, rows.features, rows.count);
  const names = Array.from(predicted, (k) => model.classes[k] ?? String(k));
  if (out) await writeFileAtomic(out, `${names.join('\n')}\n`);
  else print(`${names.join('\n')}\n`);
  if (rows.labels) {
    let right = 0;
    rows.labels.forEach((label, i) => {
      if (label === names[i]) right++;
    });
    const line = `accuracy ${((right / rows.count) * 100).toFixed(2)}% (${right} of ${rows.count})\n`;
    if (out) print(line);
    else process.stderr.write(line);
  }
  if (out) print(`${rows.count} predictions written to ${out}\n`);
  return 0;
}
