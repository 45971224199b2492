/**
 * `npm run bench [-- NAME…] [--quick] [--out DIR]`
 *
 * Runs the benchmarks (all, or those named) and writes <name>.json, .md and .svg for each
 * into bench/results/ — or, with --quick, at tiny sizes into a fresh temporary folder (never
 * over bench/results/), so tests can run every benchmark in seconds.
 *
 * Exit status: 0; 1 when a full run produced a result that fails its validity check (a
 * ratio to a lower bound below 0.95: the benchmark measured the wrong thing). A --quick run
 * never fails on a ratio: tiny sizes on a busy machine prove nothing either way.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCHMARKS } from './benchmarks.ts';
import { writeIndexPage } from './lib/index-page.ts';
import { loadSnapshot, machineInfo } from './lib/machine.ts';
import { type BenchResult, writeResult } from './lib/result.ts';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      `npm run bench [-- NAME…] [--quick] [--out DIR]\n  benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
    );
    return 0;
  }
  const unknown = positionals.filter((p) => !BENCHMARKS.some((b) => b.name === p));
  if (unknown.length) {
    process.stderr.write(
      `bench: unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
    );
    return 2;
  }
  const selected = positionals.length ? BENCHMARKS.filter((b) => positionals.includes(b.name)) : BENCHMARKS;
  const quick = values.quick ?? false;
  const out = values.out ?? (quick ? await mkdtemp(join(tmpdir(), 'admove-bench-')) : RESULTS);
  const command = `npm run bench${positionals.length || quick ? ' --' : ''}${positionals.map((p) => ` ${p}`).join('')}${quick ? ' --quick' : ''}`;
  const estimate = selected.reduce((s, b) => s + b.estimatedSeconds, 0);
  process.stderr.write(
    `bench: ${selected.map((b) => b.name).join(', ')}${quick ? ' (quick)' : ` (about ${Math.ceil(estimate / 60)} min)`} → ${out}\n`,
  );
  const started = performance.now();
  const invalid: string[] = [];
  for (const b of selected) {
    const machine = machineInfo();
    const loadAtStart = loadSnapshot();
    const startedAt = new Date().toISOString();
    const t = performance.now();
    const output = await b.run({
      quick,
      log: (m) => process.stderr.write(`  ${m}\n`),
    });
    const result: BenchResult = {
      name: b.name,
      title: b.title,
      quick,
      machine,
      load: { start: loadAtStart, end: loadSnapshot() },
      startedAt,
      durationSeconds: (performance.now() - t) / 1000,
      command,
      ...output,
    };
    const files = await writeResult(out, result);
    await writeIndexPage(
      out,
      BENCHMARKS.map((x) => x.name),
    );
    process.stdout.write(
      `${b.name}: ${result.durationSeconds.toFixed(1)} s → ${files.json}\n  summary ${JSON.stringify(result.summary)}\n`,
    );
    for (const c of result.checks ?? []) {
      if (c.valid) continue;
      // A quick run's ratios are too small to hold to a bound, and its timing at tiny sizes on
      // a loaded machine is not the subject; its conditions still hold.
      if (!quick || c.kind === 'condition') {
        invalid.push(`${b.name}.${c.name}`);
        process.stderr.write(`bench: INVALID ${b.name}.${c.name} (ratio ${c.ratio}): ${c.cause}\n`);
      } else {
        process.stderr.write(
          `bench: note: ${b.name}.${c.name} (${c.kind}${c.ratio === null ? '' : ` ${c.ratio}`}) failed; not held in a --quick run: ${c.cause}\n`,
        );
      }
    }
  }
  process.stdout.write(
    `bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s; results in ${out}\n`,
  );
  if (invalid.length > 0) {
    process.stderr.write(`bench: ${invalid.length} invalid result(s): ${invalid.join(', ')}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
