/**
 * Hostile files given to `admove opt --data/--trace/--resume`, `predict --model/--data` and
 * `plot`: empty, ragged, mis-encoded, of the wrong format, absurdly nested, with huge or
 * non-finite numbers, and files that parse but are wrong inside. Every one is refused before
 * any work with one line naming the file and the line or field — or, where the file is fine
 * after all (a BOM, CRLF), the run completes with valid outputs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Case, runCase, sample } from './cases.ts';
import { admove, goodCsv, scratch, subdir, TINY } from './helpers.ts';

const { dir, file } = scratch('files');
const BOM = '\uFEFF';
const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
const deepArrays = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
const deepObjects = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;

/** A 40-row CSV whose row `at` (1-based data row) has `cell` in column a. */
const withCell = (cell: string, at = 1) =>
  goodCsv()
    .split('\n')
    .map((line, i) => (i === at ? line.replace(/^[^,]*/, cell) : line))
    .join('\n');

// ---------------------------------------------------------------- opt --data
const data = (name: string, body: string | Buffer, message: RegExp | 'ok'): Case => {
  const path = file(`${name.replace(/\W+/g, '-')}.csv`, body);
  const report = join(dir, `${name.replace(/\W+/g, '-')}.report.json`);
  const args = [
    'opt',
    '--data',
    path,
    '--workers',
    '2',
    '--iterations',
    '1',
    '--trace',
    'none',
    '--quiet',
    '--report',
    report,
  ];
  return message === 'ok'
    ? { name: `data: ${name}`, args, outcome: { ok: true, reports: [report] } }
    : { name: `data: ${name}`, args, outcome: message, absent: [report] };
};
const manyClasses = `a,label\n${Array.from({ length: 1002 }, (_, i) => `${i},c${i}`).join('\n')}\n`;
const dataCases: Case[] = [
  data('empty', '', /the file is empty/),
  data('blank lines only', '  \n\n \r\n', /the file is empty/),
  data('header only', 'a,b,c,label\n', /the file has a header line but no data rows/),
  data('ragged row', goodCsv().replace('\n1,3,1,x\n', '\n1,3,x\n'), /:3: expected 4 fields, found 3/),
  data('UTF-16', utf16(goodCsv()), /the file is UTF-16 text; save it as UTF-8/),
  data(
    'invalid UTF-8',
    Buffer.concat([
      Buffer.from('a,b,c,label\n1,2,3,x\n4,5,6,'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\n'),
    ]),
    /:3: not valid UTF-8 text/,
  ),
  data('binary', binary, /:1: a NUL byte, so the file is binary/),
  data(
    'JSON given as CSV',
    '{"events": []}\n',
    /:1: the file starts with "\{", so it looks like JSON, not CSV/,
  ),
  data('NaN cell', withCell('NaN', 2), /:3: column "a": "NaN" is not a finite number/),
  data('Infinity cell', withCell('-Infinity', 5), /:6: column "a": "-Infinity" is not a finite number/),
  data('beyond float32', withCell('1e39', 3), /:4: column "a": "1e39" is outside the float32 range/),
  data('beyond float64', withCell('1e999'), /:2: column "a": "1e999" is outside the float32 range/),
  data('empty feature cell', withCell(''), /:2: column "a" is empty/),
  data('text in a feature column (NA)', withCell('NA'), /:2: column "a": "NA" is not a number/),
  data('hex cell', withCell('0x1F'), /:2: column "a": "0x1F" is not a number/),
  data('unclosed quote', withCell('"1'), /:2: field 1 opens a double quote that is not closed/),
  data('one class only', 'a,label\n1,x\n2,x\n3,x\n4,x\n5,x\n', /only one class \("x"\)/),
  data('more than 1000 classes', manyClasses, /label column "label" has more than 1000 distinct values/),
  data('all-number header', '1,2,3\n4,5,6\n7,8,9\n', /:1: the first line is all numbers/),
  data('UTF-8 BOM (fine)', `${BOM}${goodCsv()}`, 'ok'),
  data('CRLF line ends (fine)', goodCsv().replace(/\n/g, '\r\n'), 'ok'),
  { name: 'data: a directory', args: ['opt', '--data', dir], outcome: /not a regular file/ },
  {
    name: 'data: /dev/null',
    args: ['opt', '--data', '/dev/null'],
    outcome: /\/dev\/null: not a regular file/,
  },
  {
    name: 'data: missing file',
    args: ['opt', '--data', join(dir, 'nope.csv')],
    outcome: /nope\.csv: no such file/,
  },
];

// ---------------------------------------------------------------- opt --trace
const trace = (name: string, body: string | Buffer, message: RegExp | 'ok'): Case => {
  const path = file(`${name.replace(/\W+/g, '-')}.trace.json`, body);
  const args = [
    'opt',
    '--synthetic',
    '200x4',
    '--workers',
    '2',
    '--iterations',
    '1',
    '--quiet',
    '--trace',
    path,
  ];
  return { name: `trace: ${name}`, args, outcome: message === 'ok' ? { ok: true } : message };
};
const traceCases: Case[] = [
  trace('empty', '', /line 1, column 1: invalid JSON: unexpected end of input/),
  trace('CSV given as JSON', goodCsv(), /line 1, column 1: invalid JSON/),
  trace('binary', binary, /line 1, column 1: invalid JSON/),
  trace('UTF-16', utf16('{"events":[]}'), /line 1, column 1: invalid JSON/),
  trace('100,000 nested arrays', deepArrays, /line 1, column 33: nested more than 32 levels deep/),
  trace('50,000 nested objects', deepObjects, /nested more than 32 levels deep/),
  trace('events not an array', '{"events":{}}', /events: expected an array of events/),
  trace(
    'unknown host',
    '{"events":[{"at":{"ms":5},"type":"vacate","host":"h7"}]}',
    /events\[0\]\.host: "h7" is not a host of this job/,
  ),
  trace(
    'unknown event type',
    '{"events":[{"at":{"ms":5},"type":"explode","host":"h0"}]}',
    /events\[0\]\.type: "explode" is not an event type/,
  ),
  trace('negative time', '{"events":[{"at":{"ms":-5},"type":"vacate","host":"h0"}]}', /events\[0\]\.at\.ms/),
  trace('unknown top-level field', '{"events":[],"evnts":[]}', /evnts: unknown field/),
  trace('UTF-8 BOM (fine)', `${BOM}{"events":[]}`, 'ok'),
  {
    name: 'trace: a directory',
    args: ['opt', ...TINY.slice(0, -2), '--trace', dir],
    outcome: /cannot read the trace file \(it is a directory\)/,
  },
];

// --------------------------------------------- fixtures made by one real run
const fixtures = subdir(dir, 'fixtures');
const trainCsv = file('train.csv', goodCsv());
const base = {
  checkpoint: join(fixtures, 'base.ckpt'),
  model: join(fixtures, 'base-model.json'),
  report: join(fixtures, 'base-report.json'),
};
type Json = Record<string, unknown>;
const read = (path: string): Json => JSON.parse(readFileSync(path, 'utf8'));
/** A copy of fixture `from`, changed by `edit`, written as `name`. */
const mutated = (from: string, name: string, edit: (j: Json) => void) => () => {
  const j = read(from);
  edit(j);
  return file(name, JSON.stringify(j));
};

// Resume: the fixture run's data and settings, with `iterations` and `more` flags.
const resume = (name: string, make: () => string, message: RegExp, iterations = 2, more: string[] = []) => ({
  name: `checkpoint: ${name}`,
  make,
  message,
  flags: [
    '--data',
    trainCsv,
    '--workers',
    '2',
    '--iterations',
    String(iterations),
    '--trace',
    'none',
    ...more,
  ],
});
const opt = (j: Json) => j['optimiser'] as Json;
const resumeCases = [
  resume(
    'empty',
    () => file('empty.ckpt', ''),
    /--resume .*empty\.ckpt: the file is empty, not a checkpoint/,
  ),
  resume(
    'not JSON',
    () => file('text.ckpt', 'hello'),
    /--resume .*text\.ckpt: not a checkpoint: invalid JSON \(line 1, column 1/,
  ),
  resume('binary', () => file('bin.ckpt', binary), /--resume .*bin\.ckpt: the file holds NUL bytes/),
  resume('UTF-16', () => file('u16.ckpt', utf16('{}')), /--resume .*u16\.ckpt: the file is UTF-16 text/),
  resume(
    'deeply nested',
    () => file('deep.ckpt', deepArrays),
    /deep\.ckpt: field "\(top level\)" must be an object/,
  ),
  resume(
    'a model given as checkpoint',
    () => base.model,
    /base-model\.json: field "format" must be "admove-opt-checkpoint"/,
  ),
  resume(
    'version 2',
    mutated(base.checkpoint, 'v2.ckpt', (j) => {
      j['version'] = 2;
    }),
    /v2\.ckpt: field "version" must be 1/,
  ),
  resume(
    'iteration beyond --iterations',
    () => base.checkpoint,
    /at iteration 2, beyond --iterations 1; give --iterations 2 or more/,
    1,
  ),
  resume(
    'iteration -1',
    mutated(base.checkpoint, 'neg.ckpt', (j) => {
      j['iteration'] = -1;
    }),
    /neg\.ckpt: field "iteration" must be ≥ 0/,
  ),
  resume(
    'history shorter than iteration',
    mutated(base.checkpoint, 'hist.ckpt', (j) => {
      (j['iterations'] as unknown[]).pop();
    }),
    /hist\.ckpt: field "iterations" must hold one record per iteration done \(2\), got 1/,
  ),
  resume(
    'history record broken',
    mutated(base.checkpoint, 'rec.ckpt', (j) => {
      (j['iterations'] as Json[])[0]['seconds'] = 'soon';
    }),
    /rec\.ckpt: field "iterations\[0\]\.seconds" must be a number/,
  ),
  resume(
    'optimiser missing',
    mutated(base.checkpoint, 'noopt.ckpt', (j) => {
      delete j['optimiser'];
    }),
    /noopt\.ckpt: field "optimiser" must be an object/,
  ),
  resume(
    'optimiser kind adam',
    mutated(base.checkpoint, 'adam.ckpt', (j) => {
      opt(j)['kind'] = 'adam';
    }),
    /adam\.ckpt: field "optimiser\.kind" must be "scg" or "prcg", got "adam"/,
  ),
  resume(
    'weights truncated',
    mutated(base.checkpoint, 'trunc.ckpt', (j) => {
      opt(j)['weights'] = (opt(j)['weights'] as number[]).slice(0, 3);
    }),
    /trunc\.ckpt: field "optimiser\.weights" has 3 numbers but optimiser\.r has/,
  ),
  resume(
    'weights of another net',
    mutated(base.checkpoint, 'other.ckpt', (j) => {
      for (const k of ['weights', 'r', 'p']) opt(j)[k] = (opt(j)[k] as number[]).slice(0, 10);
    }),
    /other\.ckpt: field "optimiser\.weights" has 10 numbers, but the network of these settings has/,
  ),
  resume(
    'weight a string',
    mutated(base.checkpoint, 'wstr.ckpt', (j) => {
      (opt(j)['weights'] as unknown[])[4] = 'x';
    }),
    /wstr\.ckpt: field "optimiser\.weights\[4\]" must be a number/,
  ),
  resume(
    'lambda a string',
    mutated(base.checkpoint, 'lam.ckpt', (j) => {
      opt(j)['lambda'] = 'big';
    }),
    /lam\.ckpt: field "optimiser\.lambda" is wrong/,
  ),
  resume(
    'elapsedMs negative',
    mutated(base.checkpoint, 'el.ckpt', (j) => {
      j['elapsedMs'] = -1;
    }),
    /el\.ckpt: field "elapsedMs" must be ≥ 0/,
  ),
  resume(
    'other settings',
    () => base.checkpoint,
    /--resume .*base\.ckpt: it was made with other data or settings \(--hidden: \d+ in the checkpoint, 7 now\); resume with the same flags/,
    2,
    ['--hidden', '7'],
  ),
  resume('a directory', () => fixtures, /--resume .*fixtures: is a directory, not a checkpoint/),
];

// The best-weights bookkeeping of a checkpoint (the fixture run holds validation rows).
const best = (j: Json) => j['best'] as Json;
const bestCases = [
  resume(
    'best missing',
    mutated(base.checkpoint, 'nobest.ckpt', (j) => {
      delete j['best'];
    }),
    /nobest\.ckpt: field "best" must be an object or null, got nothing/,
  ),
  resume(
    'best a number',
    mutated(base.checkpoint, 'bestnum.ckpt', (j) => {
      j['best'] = 3;
    }),
    /bestnum\.ckpt: field "best" must be an object, got 3/,
  ),
  resume(
    'best weights truncated',
    mutated(base.checkpoint, 'bestw.ckpt', (j) => {
      best(j)['weights'] = (best(j)['weights'] as number[]).slice(0, 3);
    }),
    /bestw\.ckpt: field "best\.weights" must have \d+ items, got 3/,
  ),
  resume(
    'best weight a string',
    mutated(base.checkpoint, 'bestws.ckpt', (j) => {
      (best(j)['weights'] as unknown[])[1] = 'x';
    }),
    /bestws\.ckpt: field "best\.weights\[1\]" must be a number/,
  ),
  resume(
    'best iteration after the checkpoint',
    mutated(base.checkpoint, 'bestit.ckpt', (j) => {
      best(j)['iteration'] = 5;
    }),
    /bestit\.ckpt: field "best\.iteration" must be at most the checkpoint's iteration 2, got 5/,
  ),
  resume(
    'best iteration 0',
    mutated(base.checkpoint, 'bestit0.ckpt', (j) => {
      best(j)['iteration'] = 0;
    }),
    /bestit0\.ckpt: field "best\.iteration" must be ≥ 1, got 0/,
  ),
  resume(
    'patience counter that does not fit',
    mutated(base.checkpoint, 'since.ckpt', (j) => {
      best(j)['sinceBest'] = 7;
    }),
    /since\.ckpt: field "best\.sinceBest" must be \d \(iterations since best\.iteration \d\), got 7/,
  ),
  resume(
    'patience counter negative',
    mutated(base.checkpoint, 'sinceneg.ckpt', (j) => {
      best(j)['sinceBest'] = -1;
    }),
    /sinceneg\.ckpt: field "best\.sinceBest" must be ≥ 0, got -1/,
  ),
  resume(
    'validation accuracy above 1',
    mutated(base.checkpoint, 'vacc.ckpt', (j) => {
      best(j)['validationAccuracy'] = 1.5;
    }),
    /vacc\.ckpt: field "best\.validationAccuracy" must be a fraction in \[0, 1\], got 1\.5/,
  ),
  resume(
    'validation error null',
    mutated(base.checkpoint, 'verr.ckpt', (j) => {
      best(j)['validationError'] = null;
    }),
    /verr\.ckpt: field "best\.validationError" must be a number, got null/,
  ),
  resume(
    'stoppedEarly not a boolean',
    mutated(base.checkpoint, 'stop.ckpt', (j) => {
      j['stoppedEarly'] = 'yes';
    }),
    /stop\.ckpt: field "stoppedEarly" must be true or false, got "yes"/,
  ),
  resume(
    'other --patience',
    () => base.checkpoint,
    /--resume .*base\.ckpt: it was made with other data or settings \(--patience: \d+ in the checkpoint, 9 now\);/,
    2,
    ['--patience', '9'],
  ),
  resume(
    'other --validation-fraction',
    () => base.checkpoint,
    /--resume .*base\.ckpt: it was made with other data or settings/,
    2,
    ['--validation-fraction', '0.2'],
  ),
];

// predict --model
const model = (name: string, body: () => string, message: RegExp) => ({
  name: `model: ${name}`,
  body,
  message,
});
const shape = (j: Json) => j['shape'] as Json;
const std = (j: Json) => (j['standardisation'] as Json)['std'] as unknown[];
const modelCases = [
  model('empty', () => file('empty.model', ''), /empty\.model: the file is empty, not a model file/),
  model('CSV given as model', () => trainCsv, /train\.csv: not a model file: invalid JSON/),
  model('UTF-16', () => file('u16.model', utf16('{}')), /u16\.model: the file is UTF-16 text/),
  model(
    'deeply nested',
    () => file('deep.model', deepObjects),
    /deep\.model: field "format" must be "admove-opt-model"/,
  ),
  model(
    'a report given as model',
    () => base.report,
    /base-report\.json: field "format" must be "admove-opt-model"/,
  ),
  model(
    'version 9',
    mutated(base.model, 'v9.model', (j) => {
      j['version'] = 9;
    }),
    /v9\.model: field "version" must be 1/,
  ),
  model(
    'inputs 0',
    mutated(base.model, 'in0.model', (j) => {
      shape(j)['inputs'] = 0;
    }),
    /in0\.model: field "shape\.inputs" must be ≥ 1/,
  ),
  model(
    'hidden 2.5',
    mutated(base.model, 'h25.model', (j) => {
      shape(j)['hidden'] = 2.5;
    }),
    /h25\.model: field "shape\.hidden" must be a whole number/,
  ),
  model(
    'loss hinge',
    mutated(base.model, 'loss.model', (j) => {
      shape(j)['loss'] = 'hinge';
    }),
    /loss\.model: field "shape\.loss" must be "mse" or "xent"/,
  ),
  model(
    'absurd shape',
    mutated(base.model, 'huge.model', (j) => {
      shape(j)['hidden'] = 1e9;
    }),
    /huge\.model: field "shape" asks for \d+ weights/,
  ),
  model(
    'weights short',
    mutated(base.model, 'ws.model', (j) => {
      (j['weights'] as unknown[]).pop();
    }),
    /ws\.model: field "weights" must have \d+ items/,
  ),
  model(
    'weight null',
    mutated(base.model, 'wn.model', (j) => {
      (j['weights'] as unknown[])[0] = null;
    }),
    /wn\.model: field "weights\[0\]" must be a number, got null/,
  ),
  model(
    'classes missing',
    mutated(base.model, 'cm.model', (j) => {
      delete j['classes'];
    }),
    /cm\.model: field "classes" must be an array/,
  ),
  model(
    'class a number',
    mutated(base.model, 'cn.model', (j) => {
      (j['classes'] as unknown[])[1] = 7;
    }),
    /cn\.model: field "classes\[1\]" must be a string/,
  ),
  model(
    'std zero',
    mutated(base.model, 'sz.model', (j) => {
      std(j)[2] = 0;
    }),
    /sz\.model: field "standardisation\.std\[2\]" must be > 0/,
  ),
  model(
    'std negative',
    mutated(base.model, 'sn.model', (j) => {
      std(j)[0] = -1;
    }),
    /sn\.model: field "standardisation\.std\[0\]" must be > 0/,
  ),
  model(
    'mean too short',
    mutated(base.model, 'ms.model', (j) => {
      ((j['standardisation'] as Json)['mean'] as unknown[]).pop();
    }),
    /ms\.model: field "standardisation\.mean" must have 3 items, got 2/,
  ),
  model(
    'trainedOn missing',
    mutated(base.model, 'to.model', (j) => {
      delete j['trainedOn'];
    }),
    /to\.model: field "trainedOn" must be a string/,
  ),
];

const validation = (j: Json) => j['validation'] as Json;
const modelValidationCases = [
  model(
    'validation a string',
    mutated(base.model, 'vs.model', (j) => {
      j['validation'] = 'best';
    }),
    /vs\.model: field "validation" must be an object, got "best"/,
  ),
  model(
    'validation best iteration 0',
    mutated(base.model, 'vb.model', (j) => {
      validation(j)['bestIteration'] = 0;
    }),
    /vb\.model: field "validation\.bestIteration" must be ≥ 1, got 0/,
  ),
  model(
    'validation rows fractional',
    mutated(base.model, 'vr.model', (j) => {
      validation(j)['rows'] = 2.5;
    }),
    /vr\.model: field "validation\.rows" must be a whole number, got 2\.5/,
  ),
  model(
    'validation accuracy above 1',
    mutated(base.model, 'va.model', (j) => {
      validation(j)['accuracy'] = 2;
    }),
    /va\.model: field "validation\.accuracy" must be a fraction in \[0, 1\], got 2/,
  ),
  model(
    'validation error missing',
    mutated(base.model, 've.model', (j) => {
      delete validation(j)['error'];
    }),
    /ve\.model: field "validation\.error" must be a number, got nothing/,
  ),
];

// plot RUN.json
const report = (name: string, body: () => string, message: RegExp) => ({
  name: `report: ${name}`,
  body,
  message,
});
const first = (j: Json, key: string) => (j[key] as Json[])[0];
const reportCases = [
  report('empty', () => file('empty.run.json', ''), /empty\.run\.json: the file is empty, not a report/),
  report(
    'not JSON',
    () => file('text.run.json', 'not json'),
    /text\.run\.json: not a report: invalid JSON \(line 1, column 1/,
  ),
  report('binary', () => file('bin.run.json', binary), /bin\.run\.json: the file holds NUL bytes/),
  report('UTF-16', () => file('u16.run.json', utf16('{}')), /u16\.run\.json: the file is UTF-16 text/),
  report(
    'deeply nested',
    () => file('deep.run.json', deepArrays),
    /deep\.run\.json: not an admove run report/,
  ),
  report('a model given as report', () => base.model, /base-model\.json: not an admove run report/),
  report(
    'schemaVersion 3',
    mutated(base.report, 'sv3.run.json', (j) => {
      j['schemaVersion'] = 3;
    }),
    /sv3\.run\.json: schemaVersion 3 is not one this plot knows \(1, 2\)/,
  ),
  report(
    'final missing',
    mutated(base.report, 'nofinal.run.json', (j) => {
      delete j['final'];
    }),
    /nofinal\.run\.json: field "final" must be an object/,
  ),
  report(
    'iterations not an array',
    mutated(base.report, 'itobj.run.json', (j) => {
      j['iterations'] = {};
    }),
    /itobj\.run\.json: field "iterations" must be an array/,
  ),
  report(
    'exemplars of the wrong width',
    mutated(base.report, 'ex.run.json', (j) => {
      (first(j, 'iterations')['exemplars'] as unknown[]).push(5);
    }),
    /ex\.run\.json: field "iterations\[0\]\.exemplars" must have 2 items, got 3/,
  ),
  report(
    'iteration error a string',
    mutated(base.report, 'err.run.json', (j) => {
      first(j, 'iterations')['error'] = 'low';
    }),
    /err\.run\.json: field "iterations\[0\]\.error" must be a number/,
  ),
  report(
    'worker host missing',
    mutated(base.report, 'wh.run.json', (j) => {
      delete first(j, 'workers')['host'];
    }),
    /wh\.run\.json: field "workers\[0\]\.host" must be a string/,
  ),
  report(
    'event time a string',
    mutated(base.report, 'ev.run.json', (j) => {
      j['events'] = [{ type: 'vacate', host: 'h0', outcome: 'applied', receivedAt: 'now' }];
    }),
    /ev\.run\.json: field "events\[0\]\.receivedAt" must be a number/,
  ),
  report(
    'redistribution counts wrong',
    mutated(base.report, 'rd.run.json', (j) => {
      j['redistributions'] = [
        {
          index: 0,
          reason: 'gain',
          triggeredAt: 1,
          migrationMs: 1,
          obtrusivenessMs: null,
          bytesMoved: 1,
          countsAfter: [1],
        },
      ];
    }),
    /rd\.run\.json: field "redistributions\[0\]\.countsAfter" must have 2 items, got 1/,
  ),
];

beforeAll(async () => {
  // One real run makes the checkpoint, model and report the mutations start from.
  const r = await admove([
    'opt',
    '--data',
    trainCsv,
    '--workers',
    '2',
    '--iterations',
    '2',
    '--trace',
    'none',
    '--quiet',
    '--checkpoint',
    base.checkpoint,
    '--save-model',
    base.model,
    '--report',
    base.report,
  ]);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

describe.concurrent('hostile files: admove opt --data', () => {
  it.each(sample(dataCases, 3).map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await runCase(c, dir);
  });
});

describe.concurrent('hostile files: admove opt --trace', () => {
  it.each(sample(traceCases, 3).map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await runCase(c, dir);
  });
});

describe.concurrent('hostile files: admove opt --resume (checked before any data is read)', () => {
  it.each(sample(resumeCases, 3).map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const args = ['opt', ...c.flags, '--quiet', '--resume', c.make()];
    await runCase({ name: c.name, args, outcome: c.message }, dir);
  });
});

describe.concurrent('hostile files: the best weights of a checkpoint, the choice of a model', () => {
  it.each(bestCases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const args = ['opt', ...c.flags, '--quiet', '--resume', c.make()];
    await runCase({ name: c.name, args, outcome: c.message }, dir);
  });
  it.each(modelValidationCases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const args = ['predict', '--model', c.body(), '--data', trainCsv, '--label-column', 'label'];
    await runCase({ name: c.name, args, outcome: c.message }, dir);
  });
  it('the fixture checkpoint holds best weights and the fixture model says how they were chosen', () => {
    expect(read(base.checkpoint)['best']).toMatchObject({ sinceBest: expect.any(Number) });
    expect(read(base.model)['validation']).toMatchObject({ rows: 3, bestIteration: expect.any(Number) });
  });
});

describe.concurrent('hostile files: admove predict --model', () => {
  it.each(sample(modelCases, 3).map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const out = join(dir, `${c.name.replace(/\W+/g, '-')}.predictions`);
    await runCase(
      {
        name: c.name,
        args: ['predict', '--model', c.body(), '--data', trainCsv, '--label-column', 'label', '--out', out],
        outcome: c.message,
        absent: [out],
      },
      dir,
    );
  });
  it('model: features that do not match the model', async () => {
    const wide = file('wide.csv', 'a,b,c,d,label\n1,2,3,4,x\n5,6,7,8,y\n');
    await runCase(
      {
        name: 'width',
        args: ['predict', '--model', base.model, '--data', wide, '--label-column', 'label'],
        outcome: /wide\.csv: 4 feature columns, but the model was trained on 3/,
      },
      dir,
    );
  });
  it('model: a UTF-8 BOM is fine, predictions written whole', async () => {
    const bom = file('bom.model', `${BOM}${readFileSync(base.model, 'utf8')}`);
    const out = join(dir, 'bom.predictions');
    await runCase(
      {
        name: 'bom',
        args: ['predict', '--model', bom, '--data', trainCsv, '--label-column', 'label', '--out', out],
        outcome: { ok: true, stdout: /40 predictions written/ },
      },
      dir,
    );
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(40);
  });
});

describe.concurrent('hostile files: admove plot', () => {
  it.each(sample(reportCases, 3).map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const out = join(dir, 'plots', c.name.replace(/\W+/g, '-'));
    await runCase({ name: c.name, args: ['plot', c.body(), '--out', out], outcome: c.message }, dir);
  });
  it('report: a UTF-8 BOM is fine, three charts written', async () => {
    const bom = file('bom.run.json', `${BOM}${readFileSync(base.report, 'utf8')}`);
    const out = subdir(dir, 'bom-plots');
    await runCase(
      {
        name: 'bom',
        args: ['plot', bom, '--out', out],
        outcome: { ok: true, stdout: /wrote .*bom\.run-redistributions\.svg/ },
      },
      dir,
    );
  });
});
