/**
 * Redistribution time: a 2-worker ADM job whose training set is one of the paper's Table 6
 * sizes (then 100 and 400 MB); one worker is vacated in the middle of a pass. Obtrusiveness
 * and migration cost as the paper defines them, beside the lower bounds for the same bytes
 * measured in the same run, and beside the paper's own columns (10 Mbit/s Ethernet, 1994).
 */
import { lineChart } from '../apps/plot/chart/index.ts';
import { syntheticDataset } from '../framework/datasets/index.ts';
import type { Benchmark } from './lib/context.ts';
import { LowerBoundProbe, type LowerBounds } from './lib/lower-bounds.ts';
import { num, table, verdict } from './lib/markdown.ts';
import { bytesPerExemplar, startOptJob } from './lib/opt-job.ts';
import { median, ratio, sig } from './lib/stats.ts';
import { vacateAndReturn } from './lib/vacate.ts';

/** The paper's Table 6: ADM-Opt migration and raw TCP, seconds, by training-set size (MB). */
const PAPER: Record<string, { adm: number; tcp: number }> = {
  '0.6': { adm: 1.75, tcp: 0.27 },
  '4.2': { adm: 4.42, tcp: 1.88 },
  '5.8': { adm: 5.46, tcp: 2.51 },
  '9.8': { adm: 9.96, tcp: 4.42 },
  '13.5': { adm: 12.41, tcp: 6.17 },
  '20.8': { adm: 21.69, tcp: 10.0 },
};
/** MPVM's process migration at 20.8 MB: 1.25 × raw TCP. */
const PAPER_MPVM_20MB_S = 1.25 * 10.0;

const DIM = 784;

interface Sample {
  readonly sizeMB: number;
  readonly rep: number;
  /** The vacate arrived while a pass was computing (otherwise between passes). */
  readonly midPass: boolean;
  readonly obtrusivenessMs: number | null;
  readonly migrationMs: number | null;
  readonly bytesMoved: number;
  readonly exemplarsMoved: number;
  /** The move back when the host returned ("gain"): not a paper measure, for scale. */
  readonly backMigrationMs: number | null;
  readonly lowerBounds: LowerBounds;
}

export const redistribution: Benchmark = {
  name: 'redistribution',
  title: 'Redistribution time: obtrusiveness and migration cost vs the lower bounds',
  estimatedSeconds: 120,
  async run(ctx) {
    const q = ctx.quick;
    const sizes = q ? [0.6, 20.8] : [0.6, 4.2, 5.8, 9.8, 13.5, 20.8, 100, 400];
    const repsFor = (mb: number) => (q ? 1 : mb >= 400 ? 2 : mb >= 100 ? 3 : 5);
    const hidden = q ? 2 : 4;
    const probe = new LowerBoundProbe();
    const samples: Sample[] = [];
    try {
      for (const mb of sizes) {
        const count = Math.ceil((mb * 1e6) / bytesPerExemplar(DIM));
        let data: ReturnType<typeof syntheticDataset> | null = syntheticDataset({
          count,
          dim: DIM,
          classes: 10,
          seed: 11,
          testFraction: 0,
        });
        const j = await startOptJob({
          mode: 'adm',
          train: data.train,
          classes: 10,
          hidden,
          speeds: [1, 1],
          emulate: false,
        });
        data = null; // the workers hold their copies now
        try {
          const t = performance.now();
          await j.job.pass(j.weights);
          const passMs = performance.now() - t;
          for (let rep = 0; rep < repsFor(mb); rep++) {
            const s = await vacateAndReturn(j, 'h1', passMs);
            if (s === null) break; // the data did not come back: nothing left to vacate
            const lowerBounds = await probe.measure(s.record.bytesMoved, q ? 2 : 5);
            samples.push({
              sizeMB: mb,
              rep,
              midPass: s.midPass,
              obtrusivenessMs: s.record.obtrusivenessMs,
              migrationMs: s.record.migrationMs,
              bytesMoved: s.record.bytesMoved,
              exemplarsMoved: s.record.exemplarsMoved,
              backMigrationMs: s.back?.migrationMs ?? null,
              lowerBounds,
            });
            ctx.log(
              `redistribution: ${mb} MB rep ${rep + 1}: migration ${num(s.record.migrationMs ?? Number.NaN)} ms, warm copy ${num(lowerBounds.memcpyWarmMs)} ms`,
            );
          }
        } finally {
          await j.job.close();
        }
      }
    } finally {
      await probe.close();
    }
    const rows = sizes.map((mb) =>
      summarise(
        mb,
        samples.filter((s) => s.sizeMB === mb),
      ),
    );
    const at = (mb: number) => rows.find((r) => r.sizeMB === mb) ?? null;
    const summary = {
      threadRatio20MB: sig(at(20.8)?.ratioWarm ?? null),
      threadRatio100MB: sig(at(100)?.ratioWarm ?? null),
      threadRatio400MB: sig(at(400)?.ratioWarm ?? null),
      target: 2,
      targetMet20MB: (at(20.8)?.ratioWarm ?? Infinity) <= 2,
      targetMet100MB: (at(100)?.ratioWarm ?? Infinity) <= 2,
      migrationMs20MB: sig(at(20.8)?.migrationMs ?? null),
      obtrusivenessMs20MB: sig(at(20.8)?.obtrusivenessMs ?? null),
      paperAdmMs20MB: PAPER['20.8'].adm * 1000,
      paperTcpMs20MB: PAPER['20.8'].tcp * 1000,
      paperMpvmMs20MB: PAPER_MPVM_20MB_S * 1000,
    };
    const md = [
      `A 2-worker ADM job (Opt kernel, ${DIM} features, equal speeds, unthrottled) holding the whole training set, half on each worker; worker h1 is vacated about a third of the way into a pass, so its half (the "moved" column) goes to h0. Obtrusiveness runs from the event's arrival until h1 holds no exemplar; migration cost until every remaining worker computes again. The lower bounds are measured in the same run on the same number of bytes: a warm \`memcpy\` into a pre-allocated buffer, a copy into fresh memory, and the bytes posted to another thread as one transferred ArrayBuffer (until it acknowledges). Medians of ${q ? 1 : '5 (3 at 100 MB, 2 at 400 MB)'} repetitions.`,
      '',
      'The paper\'s columns are **ADM-Opt on two HP 720s over 10 Mbit/s Ethernet** (1994), "data size" being the whole training set as here; MPVM process migration was 1.25 × raw TCP at 20.8 MB (' +
        `${PAPER_MPVM_20MB_S.toFixed(1)} s). They are a different network and era: they are beside ours for shape, not for speed.`,
      '',
      table(
        [
          'training set (MB)',
          'moved (MB)',
          'obtrusiveness (ms)',
          'migration (ms)',
          'warm copy (ms)',
          'fresh copy (ms)',
          'thread post (ms)',
          'migration ÷ warm copy',
          'paper ADM (s)',
          'paper raw TCP (s)',
        ],
        rows.map((r) => [
          r.sizeMB,
          r.movedMB,
          r.obtrusivenessMs,
          r.migrationMs,
          r.memcpyWarmMs,
          r.memcpyFreshMs,
          r.postTransferMs,
          r.ratioWarm,
          PAPER[String(r.sizeMB)]?.adm,
          PAPER[String(r.sizeMB)]?.tcp,
        ]),
      ),
      '',
      table(
        ['target', 'value', ''],
        [
          [
            'migration ÷ warm copy ≤ 2 at 20.8 MB',
            summary.threadRatio20MB,
            verdict(summary.threadRatio20MB, 2),
          ],
          [
            'migration ÷ warm copy ≤ 2 at 100 MB',
            summary.threadRatio100MB,
            verdict(summary.threadRatio100MB, 2),
          ],
          [
            'migration ÷ warm copy ≤ 2 at 400 MB',
            summary.threadRatio400MB,
            verdict(summary.threadRatio400MB, 2),
          ],
        ],
      ),
      'Moving the data back when the host returns (a "gain" redistribution, no obtrusiveness) took a median of ' +
        rows.map((r) => `${num(r.backMigrationMs ?? Number.NaN)} ms at ${r.sizeMB} MB`).join(', ') +
        '.',
    ].join('\n');
    const paperSizes = sizes.filter((mb) => PAPER[String(mb)]);
    const chart = lineChart({
      title: 'Redistribution time vs bytes moved (log–log)',
      subtitle:
        'one of 2 workers vacated mid-pass · lower bounds on the same bytes, same run · paper: 10 Mbit/s Ethernet, 1994',
      x: { label: 'data moved', unit: 'MB', log: true },
      y: { label: 'time', unit: 'ms', log: true },
      series: [
        {
          name: 'ADM migration cost',
          points: pts(rows, (r) => r.migrationMs),
          dots: true,
          colour: '#0072B2',
        },
        {
          name: 'ADM obtrusiveness',
          points: pts(rows, (r) => r.obtrusivenessMs),
          dots: true,
          colour: '#56B4E9',
        },
        { name: 'warm memcpy', points: pts(rows, (r) => r.memcpyWarmMs), dashed: true, colour: '#009E73' },
        { name: 'fresh copy', points: pts(rows, (r) => r.memcpyFreshMs), dashed: true, colour: '#E69F00' },
        { name: 'thread post', points: pts(rows, (r) => r.postTransferMs), dashed: true, colour: '#CC79A7' },
        {
          name: 'paper ADM-Opt (10 Mbit/s)',
          points: paperSizes.map((mb) => [mb / 2, PAPER[String(mb)].adm * 1000] as const),
          dots: true,
          colour: '#D55E00',
        },
        {
          name: 'paper raw TCP (10 Mbit/s)',
          points: paperSizes.map((mb) => [mb / 2, PAPER[String(mb)].tcp * 1000] as const),
          dashed: true,
          colour: '#000000',
        },
      ],
    });
    return {
      settings: { sizesMB: sizes, dim: DIM, hidden, workers: 2, bytesPerExemplar: bytesPerExemplar(DIM) },
      samples,
      summary,
      markdown: md,
      chart,
    };
  },
};

interface Row {
  readonly sizeMB: number;
  readonly movedMB: number;
  readonly obtrusivenessMs: number | null;
  readonly migrationMs: number | null;
  readonly memcpyWarmMs: number;
  readonly memcpyFreshMs: number;
  readonly postTransferMs: number;
  readonly ratioWarm: number | null;
  readonly backMigrationMs: number | null;
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : null;
}

function summarise(sizeMB: number, s: readonly Sample[]): Row {
  const migrationMs = medianOrNull(s.map((x) => x.migrationMs));
  const memcpyWarmMs = median(s.map((x) => x.lowerBounds.memcpyWarmMs));
  return {
    sizeMB,
    movedMB: sig(median(s.map((x) => x.bytesMoved)) / 1e6, 3)!,
    obtrusivenessMs: sig(medianOrNull(s.map((x) => x.obtrusivenessMs))),
    migrationMs: sig(migrationMs),
    memcpyWarmMs: sig(memcpyWarmMs)!,
    memcpyFreshMs: sig(median(s.map((x) => x.lowerBounds.memcpyFreshMs)))!,
    postTransferMs: sig(median(s.map((x) => x.lowerBounds.postTransferMs)))!,
    ratioWarm: sig(ratio(migrationMs, memcpyWarmMs)),
    backMigrationMs: sig(medianOrNull(s.map((x) => x.backMigrationMs))),
  };
}

function pts(rows: readonly Row[], f: (r: Row) => number | null): [number, number][] {
  return rows.flatMap((r) => {
    const v = f(r);
    return v === null ? [] : [[r.movedMB, v] as [number, number]];
  });
}
