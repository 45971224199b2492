/**
 * Scale: 2 → 32 workers (threads, emulated speeds). The pure partition-and-plan time, and
 * the redistribution time for a fixed amount of data: h0 is rated as fast as all the others
 * together, so it always holds half the training set, and vacating it sends that same half
 * to N − 1 receivers at once. MpPVM's rule: migration cost must not grow with the workers.
 */
import { lineChart } from '../apps/plot/chart/index.ts';
import { syntheticDataset } from '../framework/datasets/index.ts';
import { partitionBySpeed, planTransfers, type WorkerCapacity } from '../framework/index.ts';
import { conditionCheck, timingCheck } from './lib/checks.ts';
import type { Benchmark } from './lib/context.ts';
import { num, table, verdict } from './lib/markdown.ts';
import { bytesPerExemplar, measureSoloRate, startOptJob } from './lib/opt-job.ts';
import { median, ratio, sig } from './lib/stats.ts';
import { perCallMs } from './lib/timing.ts';
import { chunksPerPass, vacateAndReturn } from './lib/vacate.ts';

const DIM = 784;
const TRAIN_MB = 20.8;

interface Sample {
  readonly workers: number;
  readonly rep: number;
  readonly midPass: boolean;
  readonly obtrusivenessMs: number | null;
  readonly migrationMs: number | null;
  /** Event receipt → redistribution start (every worker stopping at its next chunk and replying). */
  readonly deferralMs: number;
  /** Redistribution start → computing again. */
  readonly moveMs: number | null;
  /** The move back alone (the job's deliberate wait before a non-urgent move left out). */
  readonly backMoveMs: number | null;
  readonly backDeferralMs: number | null;
  readonly heldBytes: number;
  readonly bytesMoved: number;
  readonly transfers: number;
}

/** Microseconds for partitionBySpeed + planTransfers with n workers, h0 vacated. */
export function planMicros(n: number, total: number, minMs: number): number {
  const held = Array.from({ length: n }, (_, i) => (i === 0 ? Math.ceil(total / 2) : 0));
  const rest = total - held[0];
  for (let i = 1; i < n; i++) held[i] = Math.floor(rest / (n - 1)) + (i - 1 < rest % (n - 1) ? 1 : 0);
  const caps: WorkerCapacity[] = held.map((_, i) => ({
    speed: i === 0 ? n - 1 : 1,
    load: 1,
    available: i !== 0,
  }));
  const batch = 100;
  const runs = perCallMs(() => {
    for (let b = 0; b < batch; b++) planTransfers(held, partitionBySpeed(total, caps, held));
  }, minMs);
  return (median(runs) / batch) * 1000;
}

export const scale: Benchmark = {
  name: 'scale',
  title: 'Scale: partition-and-plan and redistribution time from 2 to 32 workers',
  estimatedSeconds: 300,
  async run(ctx) {
    const q = ctx.quick;
    const counts = q ? [2, 4] : [2, 4, 8, 16, 32];
    const planCounts = q ? [2, 4, 32] : [2, 4, 8, 16, 32, 64, 128, 256, 1024];
    const reps = q ? 1 : 3;
    const hidden = q ? 2 : 32;
    const count = Math.ceil((TRAIN_MB * 1e6) / bytesPerExemplar(DIM));
    const data = syntheticDataset({ count, dim: DIM, classes: 10, seed: 13, testFraction: 0 });
    const calibration = await measureSoloRate({ train: data.train, classes: 10, hidden });
    const plan = planCounts.map((n) => ({ workers: n, micros: planMicros(n, count, q ? 5 : 100) }));
    const samples: Sample[] = [];
    const skipped: { workers: number; rep: number; faults: string[] }[] = [];
    for (const n of counts) {
      const speeds = Array.from({ length: n }, (_, i) => (i === 0 ? n - 1 : 1));
      // A fresh job per repetition: after the move back the split follows the speeds the job
      // measured (noise), so a second vacate on the same job would not move the same half.
      for (let rep = 0; rep < reps; rep++) {
        const j = await startOptJob({
          mode: 'adm',
          train: data.train,
          classes: 10,
          hidden,
          speeds,
          emulate: true,
          soloRate: calibration.soloRate,
          // Only the vacate (and the move back) may move data.
          rebalance: false,
        });
        try {
          await j.job.pass(j.weights); // warm-up
          const per = await chunksPerPass(j);
          const s = await vacateAndReturn(
            j,
            'h0',
            Math.max(1, Math.floor(per.chunks / 3)),
            'sleep',
            per.chunks,
          );
          if (s === null) {
            // h0 lost its data before the vacate: only a worker fault does that (e.g. a thread
            // taken as hung on an overloaded machine). Recorded, not measured.
            const faults = j.job.faults().map((f) => `${f.host} ${f.cause} during ${f.during}`);
            skipped.push({ workers: n, rep, faults });
            ctx.log(
              `scale: ${n} workers rep ${rep + 1}: skipped, h0 held nothing (faults: ${faults.join('; ') || 'none'})`,
            );
            continue;
          }
          const r = s.evacuation.record;
          samples.push({
            workers: n,
            rep,
            midPass: s.midPass,
            obtrusivenessMs: r.obtrusivenessMs,
            migrationMs: r.migrationMs,
            deferralMs: s.evacuation.deferralMs,
            moveMs: s.evacuation.moveMs,
            backMoveMs: s.back?.moveMs ?? null,
            backDeferralMs: s.back?.deferralMs ?? null,
            heldBytes: s.heldExemplars * bytesPerExemplar(DIM),
            bytesMoved: r.bytesMoved,
            transfers: r.transfers,
          });
        } finally {
          await j.job.close();
        }
      }
      ctx.log(
        `scale: ${n} workers: migration ${num(median(samples.filter((s) => s.workers === n).map((s) => s.migrationMs ?? Number.NaN)))} ms`,
      );
    }
    const rows = counts.map((n) => {
      const s = samples.filter((x) => x.workers === n);
      const pick = (f: (x: Sample) => number | null) => median(s.map((x) => f(x) ?? Number.NaN));
      return {
        workers: n,
        movedMB: pick((x) => x.bytesMoved) / 1e6,
        transfers: pick((x) => x.transfers),
        obtrusivenessMs: pick((x) => x.obtrusivenessMs),
        migrationMs: pick((x) => x.migrationMs),
        deferralMs: pick((x) => x.deferralMs),
        moveMs: pick((x) => x.moveMs),
        backMoveMs: pick((x) => x.backMoveMs),
        planMicros: plan.find((p) => p.workers === n)?.micros ?? null,
      };
    });
    const at = (n: number) => rows.find((r) => r.workers === n);
    const growth = ratio(at(32)?.migrationMs, at(2)?.migrationMs);
    const summary = {
      growth2to32: sig(growth),
      growthFirstToLast: sig(ratio(rows.at(-1)?.migrationMs, rows[0]?.migrationMs)),
      target: 1.5,
      targetMet: growth !== null && growth <= 1.5,
      migrationMsByWorkers: Object.fromEntries(rows.map((r) => [r.workers, sig(r.migrationMs)])),
      deferralMsByWorkers: Object.fromEntries(rows.map((r) => [r.workers, sig(r.deferralMs)])),
      moveMsByWorkers: Object.fromEntries(rows.map((r) => [r.workers, sig(r.moveMs)])),
      allMidPass: samples.every((x) => x.midPass),
      bytesMismatches: samples.filter((x) => x.bytesMoved !== x.heldBytes).length,
      soloRate: sig(calibration.soloRate),
      planMicrosByWorkers: Object.fromEntries(plan.map((p) => [p.workers, sig(p.micros)])),
    };
    const md = [
      `An ADM job (Opt kernel, ${DIM} features, ${TRAIN_MB} MB of training data = ${count} exemplars) on N worker threads with emulated speeds N−1, 1, …, 1: h0 holds half the data whatever N, and vacating it (once a third of a pass's chunks are done, \`job.chunksDone()\`) sends that half to the N − 1 others at once; it then comes back (the "back" column: N − 1 senders to one receiver, the move alone). Speed rebalancing is off and one calibration (solo rate ${num(calibration.soloRate)} exemplars/s) is shared by every job. The evacuation is found by the vacate's sequence number; migration = *wait* (event → redistribution start: every worker stopping at its next chunk and replying) + *move*. Medians of ${reps} repetitions, each on a fresh job (so h0 holds exactly half each time). Plan time is \`partitionBySpeed\` + \`planTransfers\` for the same vacate, pure functions, no I/O.`,
      '',
      table(
        [
          'workers',
          'moved (MB)',
          'transfers',
          'obtrusiveness (ms)',
          'migration (ms)',
          'wait (ms)',
          'move (ms)',
          'back, move (ms)',
          'plan (µs)',
        ],
        rows.map((r) => [
          r.workers,
          r.movedMB,
          r.transfers,
          r.obtrusivenessMs,
          r.migrationMs,
          r.deferralMs,
          r.moveMs,
          r.backMoveMs,
          r.planMicros,
        ]),
      ),
      '',
      table(
        ['target', 'value', ''],
        [
          [
            'migration at 32 ÷ at 2 ≤ 1.5 (`growth2to32`)',
            summary.growth2to32,
            verdict(summary.growth2to32, 1.5),
          ],
        ],
      ),
      '### Plan time alone, to 1024 workers',
      '',
      table(
        ['workers', 'partition + plan (µs)'],
        plan.map((p) => [p.workers, p.micros]),
      ),
    ].join('\n');
    const chart = lineChart({
      title: 'Scale: redistribution of a fixed half of the data vs worker count',
      subtitle: `${TRAIN_MB} MB training set, half moved · growth 2→32 = ${num(summary.growth2to32 ?? Number.NaN)} (target ≤ 1.5) · plan time on the right`,
      x: { label: 'workers', unit: 'threads', log: true, min: counts[0], max: counts.at(-1), ticks: counts },
      y: { label: 'redistribution time', unit: 'ms' },
      y2: { label: 'partition + plan', unit: 'µs' },
      series: [
        { name: 'migration cost', points: rows.map((r) => [r.workers, r.migrationMs] as const), dots: true },
        {
          name: 'obtrusiveness',
          points: rows.map((r) => [r.workers, r.obtrusivenessMs] as const),
          dots: true,
        },
        {
          name: 'moving back (move alone)',
          points: rows.map((r) => [r.workers, r.backMoveMs] as const),
          dots: true,
        },
        {
          name: 'partition + plan',
          points: plan
            .filter((p) => p.workers <= Math.max(...counts))
            .map((p) => [p.workers, p.micros] as const),
          dashed: true,
          right: true,
        },
      ],
    });
    return {
      settings: {
        workerCounts: counts,
        planCounts,
        reps,
        trainMB: TRAIN_MB,
        dim: DIM,
        hidden,
        exemplars: count,
        rebalance: false,
        calibration,
      },
      checks: [
        // bytesMoved is counted from the moved rows' columns: this checks that exactly h0's rows moved.
        conditionCheck(
          'bytesMoved = bytes h0 held (rows moved = rows h0 held)',
          summary.bytesMismatches === 0,
          `${summary.bytesMismatches} sample(s) moved other than exactly what h0 held`,
        ),
        timingCheck('vacate mid-pass', summary.allMidPass, 'a pass ended before K chunks were done'),
        timingCheck(
          'every repetition measured',
          skipped.length === 0,
          `${skipped.length} repetition(s) skipped: h0 had lost its data to a worker fault before the vacate`,
        ),
      ],
      samples: { redistributions: samples, skipped, plan },
      summary,
      markdown: md,
      chart,
    };
  },
};
