import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../../framework/index.ts';
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
    throw new UserError(`plot: ${(error as Error).message} (admove plot --help)`);
  }
  if (parsed.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) throw new UserError('plot: give the report file: admove plot RUN.json [--out DIR]');
  if (extra.length) throw new UserError(`plot: one report at a time; unexpected ${extra.join(' ')}`);
  const report = await readRunReport(file);
  const out = parsed.values.out ?? dirname(file);
  await mkdir(out, { recursive: true });
  const stem = basename(file, extname(file));
  for (const chart of reportCharts(report)) {
    const path = join(out, `${stem}-${chart.name}.svg`);
    await writeFile(path, chart.svg);
    process.stdout.write(`wrote ${path}\n`);
  }
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
  });
}
