import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BoundCheck, invalidNotes } from './checks.ts';
import { describeLoad, type MachineInfo, type MachineLoad } from './machine.ts';

/** What one benchmark hands back; the runner adds the machine, dates and writes the files. */
export interface BenchOutput<S extends object = Record<string, unknown>> {
  /** Everything that decided the run (sizes, repetitions, speeds). */
  readonly settings: Record<string, unknown>;
  /** Every raw measurement. */
  readonly samples: unknown;
  /** The headline figures (named in issue 4). */
  readonly summary: S;
  /** Markdown body: the tables, targets and notes (the runner adds a header). */
  readonly markdown: string;
  /** The main chart (SVG text); more charts go in `extraCharts` as name → SVG. */
  readonly chart: string;
  readonly extraCharts?: Readonly<Record<string, string>>;
  /** Ratios to lower bounds and other sanity checks; an invalid one fails a full run. */
  readonly checks?: readonly BoundCheck[];
}

export interface BenchResult extends BenchOutput {
  readonly name: string;
  readonly title: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  /** CPU contention at the start and the end of this benchmark. */
  readonly load: MachineLoad;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly command: string;
}

export interface WrittenFiles {
  readonly json: string;
  readonly markdown: string;
  readonly svg: string[];
}

/** Write <name>.json, <name>.md, <name>.svg (and <name>-<extra>.svg) into `dir`. */
export async function writeResult(dir: string, r: BenchResult): Promise<WrittenFiles> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, r.name);
  const { markdown, chart, extraCharts, ...json } = r;
  const svg: string[] = [`${base}.svg`];
  await writeFile(`${base}.json`, `${JSON.stringify(json, jsonReplacer, 2)}\n`);
  await writeFile(`${base}.svg`, chart);
  for (const [name, text] of Object.entries(extraCharts ?? {})) {
    svg.push(`${base}-${name}.svg`);
    await writeFile(`${base}-${name}.svg`, text);
  }
  const m = r.machine;
  const header = [
    `# ${r.title}`,
    '',
    `${r.quick ? '**Quick mode (tiny sizes, not a measurement).** ' : ''}Made with \`${r.command}\` on ${r.startedAt.slice(0, 10)}: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; ${describeLoad(r.load)} (start → end); took ${r.durationSeconds.toFixed(1)} s. Raw samples: \`${r.name}.json\`.`,
    '',
    `![${r.title}](${r.name}.svg)`,
    '',
  ].join('\n');
  await writeFile(`${base}.md`, `${header}\n${invalidNotes(r.checks ?? [])}${markdown.trim()}\n`);
  return { json: `${base}.json`, markdown: `${base}.md`, svg };
}

/** NaN and ±Infinity are not JSON: write them as null rather than lose the key. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}
