import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../../framework/errors.ts';
import { checkOutputPaths } from '../cli/output-paths.ts';
import { print } from '../cli/stdout.ts';
import { writeFileAtomic } from '../opt/atomic-file.ts';
import { readRunReport } from './read-report.ts';
import { reportCharts } from './report-charts.ts';

const HELP = `admove plot — SVG charts of a run report

Usage: admove plot RUN.json [--out DIR]

Writes, next to the report or into DIR:
  RUN-training.svg         training error and test accuracy per iteration
  RUN-workers.svg          exemplars per worker over time, events and redistributions marked
  RUN-redistributions.svg  obtrusiveness and migration cost of each redistribution

Make a report with: admove opt --report RUN.json
`;

/** `admove plot run.json [--out DIR]`: returns the exit code. */
export async function plotCommand(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UserError(`plot: ${(error as Error).message.split('\n')[0]} (admove plot --help)`);
  }
  if (parsed.values.help) {
    print(HELP);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) throw new UserError('plot: give the report file: admove plot RUN.json [--out DIR]');
  if (extra.length) throw new UserError(`plot: one report at a time; unexpected ${extra.join(' ')}`);
  if (parsed.values.out === '') throw new UserError('plot: --out needs a directory (admove plot --help)');
  const out = parsed.values.out ?? dirname(file);
  const report = await readRunReport(file);
  const charts = reportCharts(report);
  await makeOutputDirectory(out);
  const stem = basename(file, extname(file));
  const files = charts.map((chart) => ({ path: join(out, `${stem}-${chart.name}.svg`), svg: chart.svg }));
  // All paths checked before the first chart is written: all three charts or none.
  await checkOutputPaths(
    files.map((f) => ({ flag: '--out', path: f.path })),
    [{ flag: 'the report', path: file }],
  );
  for (const f of files) {
    await writeFileAtomic(f.path, f.svg);
    print(`wrote ${f.path}\n`);
  }
  return 0;
}

/**
 * `--out DIR` is made if missing; a file in the way, or no permission, is a one-line error.
 * Made one level at a time: Node 20's `mkdir(…, { recursive: true })` never returns for a
 * path in /proc (it retries ENOENT forever).
 */
async function makeOutputDirectory(out: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(out);
  while (!(await exists(at))) {
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  try {
    for (const path of missing) await mkdir(path);
    if (!(await stat(out)).isDirectory())
      throw Object.assign(new Error('not a directory'), { code: 'EEXIST' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : code;
    throw new UserError(`plot: --out ${out}: cannot make the directory (${why}); give a directory path`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => error.code !== 'ENOENT',
  );
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
  });
}
