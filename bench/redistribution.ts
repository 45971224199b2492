/**
 * Redistribution time: a 2-worker ADM job whose training set is one of the paper's Table 6
 * sizes (then 100 and 400 MB); one worker is vacated in the middle of a pass. Obtrusiveness
 * and migration cost as the paper defines them, beside the lower bounds for the same bytes
 * measured in the same run, and beside the paper's own columns (10 Mbit/s Ethernet, 1994).
 */
import { lineChart } from '../apps/plot/chart/index.ts';
import { syntheticDataset } from '../framework/datasets/index.ts';
import { unitRate } from '../framework/runtime/calibration.ts';
import { boundCheck, conditionCheck, timingCheck } from './lib/checks.ts';
import type { Benchmark } from './lib/context.ts';
import { LowerBoundProbe, type LowerBounds } from './lib/lower-bounds.ts';
import { num, table, verdict } from './lib/markdown.ts';
import { bytesPerExemplar, measureSoloRate, startOptJob } from './lib/opt-job.ts';
import { median, ratio, sig, spread } from './lib/stats.ts';
import { chunksPerPass, vacateAndReturn } from './lib/vacate.ts';

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
/** Opt's network on MNIST (784-32-10): passes long enough that even 0.6 MB has several chunks a pass. */
const HIDDEN = 32;

interface Sample {
  readonly sizeMB: number;
  readonly rep: number;
  /** How the rows moved: handed from thread to thread while both computed (the default), or with both workers stopped. */
  readonly mode: Mode;
  /** The vacate was sent while the pass was computing (it is fired after K chunks of the pass). */
  readonly midPass: boolean;
  readonly chunksIntoPass: number;
  readonly chunksPerPass: number;
  /**
   * Each worker's emulated rate (exemplars/s), or null: unthrottled. Sets whose pass would be
   * shorter than MIN_PASS_MS run on hosts slowed to make it that long.
   */
  readonly emulatedRate: number | null;
  /** Exemplars and bytes the vacated worker (h1) held when the vacate was sent: what must move. */
  readonly heldExemplars: number;
  readonly heldBytes: number;
  /** h1 held exactly half the training set (the paper's meaning of the sizes). */
  readonly halfOfSet: boolean;
  readonly exemplarsMoved: number;
  readonly bytesMoved: number;
  /** bytesMoved ≠ heldBytes, or exemplarsMoved ≠ heldExemplars. */
  readonly mismatch: boolean;
  readonly obtrusivenessMs: number | null;
  readonly migrationMs: number | null;
  /** Event receipt → redistribution start (stopped: both workers stopping at their next chunk and replying). */
  readonly deferralMs: number;
  /** Redistribution start → h1 empty. */
  readonly evacuationMs: number | null;
  /** Redistribution start → computing again (hand-off: → the receiver took the rows in). */
  readonly moveMs: number | null;
  /** The move back when h1 returned: the job's deliberate wait first, then the move itself. */
  readonly backDeferralMs: number | null;
  readonly backMoveMs: number | null;
  readonly backBytesMoved: number | null;
  readonly lowerBounds: LowerBounds;
  /** migrationMs ÷ lowerBounds.memcpyWarmMs. */
  readonly ratioWarm: number | null;
}

type Mode = 'hand-off' | 'stopped';

/** A sample redone because its vacate came after the pass had ended. */
interface Discarded {
  readonly sizeMB: number;
  readonly rep: number;
  readonly mode: Mode;
  readonly chunksIntoPass: number;
  readonly chunksPerPass: number;
  readonly migrationMs: number | null;
}

/** Tries per sample: one whose vacate missed the pass is redone on a fresh job, at most this often. */
const MAX_ATTEMPTS = 3;

/** The shortest pass the coordinator can reliably send an event in the middle of, here. */
const MIN_PASS_MS = 10;

/**
 * Emulated hosts for the sets whose unthrottled pass is shorter than MIN_PASS_MS (with the
 * SIMD kernel 0.6 MB is a pass of 0.5 ms, 4.2 MB of 4 ms): both workers then run at the rate
 * that makes a pass last MIN_PASS_MS, sleeping between chunks, so the coordinator (sharing 2
 * cores with them) is awake to send the vacate mid-pass. Null: unthrottled.
 */
export function slowedHosts(
  rowsPerWorker: number,
  soloRate: number,
): { emulationCores: number; rate: number } | null {
  if ((rowsPerWorker / soloRate) * 1000 >= MIN_PASS_MS) return null;
  const wanted = rowsPerWorker / (MIN_PASS_MS / 1000);
  // unitRate with speeds [1, 1] is headroom × cores × solo / 2 below the one-core bound, so
  // cores in proportion to the rate wanted; the rate recorded is the one the job will use.
  const emulationCores = (2 * wanted) / (0.8 * soloRate);
  return { emulationCores, rate: unitRate(soloRate, [1, 1], emulationCores) };
}

export const redistribution: Benchmark = {
  name: 'redistribution',
  title: 'Redistribution time: obtrusiveness and migration cost vs the lower bounds',
  estimatedSeconds: 180,
  async run(ctx) {
    const q = ctx.quick;
    const sizes = q ? [0.6, 20.8] : [0.6, 4.2, 5.8, 9.8, 13.5, 20.8, 100, 400];
    const repsFor = (mb: number) => (q ? 1 : mb >= 400 ? 3 : 5);
    // The same vacate with both workers stopped for the move (handOffWhileComputing: false), at 20.8 MB only.
    const modesFor = (mb: number): Mode[] => (mb === 20.8 ? ['hand-off', 'stopped'] : ['hand-off']);
    const rowBytes = bytesPerExemplar(DIM);
    const calibration = await measureSoloRate({
      train: syntheticDataset({ count: 4096, dim: DIM, classes: 10, seed: 11, testFraction: 0 }).train,
      classes: 10,
      hidden: HIDDEN,
    });
    ctx.log(`redistribution: solo rate ${num(calibration.soloRate)} exemplars/s, shared by every job`);
    const probe = new LowerBoundProbe();
    const samples: Sample[] = [];
    const discarded: Discarded[] = [];
    try {
      for (const mb of sizes) {
        // The paper's "data size" is the whole training set: each of the 2 workers holds half.
        const count = Math.ceil((mb * 1e6) / rowBytes);
        const data = syntheticDataset({
          count,
          dim: DIM,
          classes: 10,
          seed: 11,
          testFraction: 0,
        });
        // A fresh job per repetition: once data has moved back, the split follows the speeds the
        // job measured (noise on a shared machine), no longer half and half as the paper's sizes mean.
        const slowed = slowedHosts(count / 2, calibration.soloRate);
        // Modes alternate within a size, so both see the same machine.
        const runs = Array.from({ length: repsFor(mb) }, (_, rep) =>
          modesFor(mb).map((mode) => ({ rep, mode })),
        ).flat();
        for (const { rep, mode } of runs) {
          for (let attempt = 1; ; attempt++) {
            const j = await startOptJob({
              mode: 'adm',
              train: data.train,
              classes: 10,
              hidden: HIDDEN,
              speeds: [1, 1],
              emulate: slowed !== null,
              emulationCores: slowed?.emulationCores,
              soloRate: calibration.soloRate,
              // The only move must be the vacate's (and the move back): no rebalancing on measured speeds.
              rebalance: false,
              handOffWhileComputing: mode === 'hand-off',
            });
            try {
              await j.job.pass(j.weights); // warm-up
              const per = await chunksPerPass(j);
              // A third of the way into the pass, counted in chunks: always mid-pass, whatever the speed.
              // On slowed hosts the coordinator watches the chunk counter without yielding (the
              // workers sleep between chunks, so it is awake): a millisecond poll is a tenth of a pass.
              const wait = slowed ? 'spin' : 'sleep';
              const s = await vacateAndReturn(
                j,
                'h1',
                Math.max(1, Math.floor(per.chunks / 3)),
                wait,
                per.chunks,
              );
              if (s === null) throw new Error('h1 held no data to vacate');
              const r = s.evacuation.record;
              if (!s.midPass && attempt < MAX_ATTEMPTS) {
                // The coordinator missed the pass (descheduled on a shared machine): this sample
                // measures a move between passes, not the one asked for. Redone on a fresh job;
                // the discarded one is kept in the JSON.
                discarded.push({
                  sizeMB: mb,
                  rep,
                  mode,
                  chunksIntoPass: s.chunksIntoPass,
                  chunksPerPass: per.chunks,
                  migrationMs: r.migrationMs,
                });
                ctx.log(
                  `redistribution: ${mb} MB rep ${rep + 1} (${mode}): the vacate came after the pass (${s.chunksIntoPass} of ${per.chunks} chunks done): redone`,
                );
                continue;
              }
              const lowerBounds = await probe.measure(r.bytesMoved, q ? 2 : 5);
              const heldBytes = s.heldExemplars * rowBytes;
              samples.push({
                sizeMB: mb,
                rep,
                mode,
                midPass: s.midPass,
                chunksIntoPass: s.chunksIntoPass,
                chunksPerPass: per.chunks,
                emulatedRate: slowed?.rate ?? null,
                heldExemplars: s.heldExemplars,
                heldBytes,
                halfOfSet: Math.abs(s.heldExemplars - count / 2) <= 0.5,
                exemplarsMoved: r.exemplarsMoved,
                bytesMoved: r.bytesMoved,
                mismatch: r.bytesMoved !== heldBytes || r.exemplarsMoved !== s.heldExemplars,
                obtrusivenessMs: r.obtrusivenessMs,
                migrationMs: r.migrationMs,
                deferralMs: s.evacuation.deferralMs,
                evacuationMs: s.evacuation.evacuationMs,
                moveMs: s.evacuation.moveMs,
                backDeferralMs: s.back?.deferralMs ?? null,
                backMoveMs: s.back?.moveMs ?? null,
                backBytesMoved: s.back?.record.bytesMoved ?? null,
                lowerBounds,
                ratioWarm: ratio(r.migrationMs, lowerBounds.memcpyWarmMs),
              });
              ctx.log(
                `redistribution: ${mb} MB rep ${rep + 1} (${mode}): moved ${num(r.bytesMoved / 1e6)} MB (held ${num(heldBytes / 1e6)}), migration ${num(r.migrationMs ?? Number.NaN)} ms (wait ${num(s.evacuation.deferralMs)} + move ${num(s.evacuation.moveMs ?? Number.NaN)}), warm copy ${num(lowerBounds.memcpyWarmMs)} ms, mid-pass ${s.midPass}`,
              );
              break;
            } finally {
              await j.job.close();
            }
          }
        }
      }
    } finally {
      await probe.close();
    }
    const rows = sizes.map((mb) =>
      summarise(
        mb,
        samples.filter((s) => s.sizeMB === mb && s.mode === 'hand-off'),
      ),
    );
    const stopped20 = summarise(
      20.8,
      samples.filter((s) => s.sizeMB === 20.8 && s.mode === 'stopped'),
    );
    const at = (mb: number) => rows.find((r) => r.sizeMB === mb) ?? null;
    // Issue 9: ≤ 3 at 20.8 MB (fixed per-move costs weigh most there); issue 4: ≤ 2 from 100 MB up.
    const target20 = 3;
    const target = 2;
    const summary = {
      threadRatio20MB: sig(at(20.8)?.ratioWarm ?? null),
      threadRatio20MBMin: sig(at(20.8)?.ratioWarmMin ?? null),
      threadRatio20MBMax: sig(at(20.8)?.ratioWarmMax ?? null),
      /** The same move with both workers stopped for it (the path TCP agents take). */
      threadRatio20MBStopped: sig(stopped20.ratioWarm),
      migrationMs20MBStopped: sig(stopped20.migrationMs),
      samples20MB: at(20.8)?.n ?? 0,
      threadRatio100MB: sig(at(100)?.ratioWarm ?? null),
      threadRatio400MB: sig(at(400)?.ratioWarm ?? null),
      /**
       * The ratios to the warm copy may be below 1 (a hand-off copies nothing); the physical
       * floor is the thread post of the same bytes, and these are migration ÷ that floor (≥ 1,
       * checked below).
       */
      postRatio20MB: sig(ratio(at(20.8)?.migrationMs, at(20.8)?.postTransferMs)),
      postRatio100MB: sig(ratio(at(100)?.migrationMs, at(100)?.postTransferMs)),
      postRatio400MB: sig(ratio(at(400)?.migrationMs, at(400)?.postTransferMs)),
      target20MB: target20,
      target,
      targetMet20MB: (at(20.8)?.ratioWarm ?? Infinity) <= target20,
      targetMet100MB: (at(100)?.ratioWarm ?? Infinity) <= target,
      migrationMs20MB: sig(at(20.8)?.migrationMs ?? null),
      obtrusivenessMs20MB: sig(at(20.8)?.obtrusivenessMs ?? null),
      deferralMs20MB: sig(at(20.8)?.deferralMs ?? null),
      moveMs20MB: sig(at(20.8)?.moveMs ?? null),
      movedMB20MB: at(20.8)?.movedMB ?? null,
      allMidPass: samples.every((s) => s.midPass),
      /** Samples redone because the vacate came after the pass (each kept in `discarded`). */
      redone: discarded.length,
      allHalf: samples.every((s) => s.halfOfSet),
      bytesMismatches: samples.filter((s) => s.mismatch).length,
      soloRate: sig(calibration.soloRate),
      paperAdmMs20MB: PAPER['20.8'].adm * 1000,
      paperTcpMs20MB: PAPER['20.8'].tcp * 1000,
      paperMpvmMs20MB: PAPER_MPVM_20MB_S * 1000,
    };
    const checks = [
      // The floor of a move between threads is posting the bytes as a transferred buffer (no
      // copy at all): a zero-copy move may beat a memcpy, so the warm copy is the target's
      // yardstick, not a bound. Below the thread post, the record found is not the evacuation.
      ...rows.map((r) =>
        boundCheck(
          `migration ÷ thread post @${r.sizeMB}MB`,
          ratio(r.migrationMs, r.postTransferMs),
          'migration faster than posting the same bytes to a thread: the record found is not the evacuation, or bytesMoved counts bytes that did not move',
        ),
      ),
      // bytesMoved is counted from the moved rows' columns: this checks that exactly h1's rows moved.
      conditionCheck(
        'bytesMoved = bytes held by the vacated worker (rows moved = rows it held)',
        summary.bytesMismatches === 0,
        `${summary.bytesMismatches} sample(s) moved other than exactly what h1 held: another redistribution (a rebalance) ran first, or the split was not half/half`,
      ),
      timingCheck(
        'the vacated worker held half the training set',
        summary.allHalf,
        'the split was not half/half when the vacate came (a redistribution on measured speeds ran first)',
      ),
      timingCheck(
        'vacate mid-pass',
        summary.allMidPass,
        'a pass ended before K chunks were done: too few chunks per pass at that size',
      ),
    ];
    const md = [
      `A 2-worker ADM job (Opt's SIMD kernel, ${DIM}-${HIDDEN}-10, equal speeds, **speed rebalancing off**) holding the whole training set of the size in the first column, **half on each worker**; h1 is vacated once the workers have completed a third of a pass's chunks (\`job.chunksDone()\`, so always mid-pass), and its half (the "moved" column, checked against what h1 held) goes to h0. Where an unthrottled pass would be shorter than ${MIN_PASS_MS} ms (the SIMD kernel makes 0.6 MB a pass of 0.5 ms), both workers emulate hosts slowed so that a pass lasts ${MIN_PASS_MS} ms (the *host rate* column): a coordinator sharing 2 cores with 2 busy workers could not send an event in the middle of a shorter one; it then watches the chunk counter without yielding. The evacuation is the redistribution that applied the vacate's own sequence number. By default (\`handOffWhileComputing\`) threads **hand the rows over while computing**: h1 gives its rows to h0 at its next chunk boundary, straight from thread to thread (buffers transferred, not copied), and h0 takes them in at its own next chunk boundary; nobody stops. Obtrusiveness runs from the event's arrival until h1 holds no exemplar; migration cost until h0 has them in its store (and counts them in the pass it is running): both ends are timed by the worker threads themselves, on the monotonic clock every thread of the process shares; the coordinator hears of them a little later. Both split into the *wait* (event → redistribution start: the coordinator's own handling of the event) and the *move* (start → h0 has the rows). Below the table, the same move at 20.8 MB **with both workers stopped** (\`handOffWhileComputing: false\`, the path TCP agents take): both stop at their next chunk and reply (the wait), then h1's rows are extracted, inserted into h0 and the pass resumes (the move); the two modes alternate, so they see the same machine. One calibration (solo rate ${num(calibration.soloRate)} exemplars/s) is shared by every job. The lower bounds are measured in the same run on the same bytes: a warm \`memcpy\` into a pre-allocated buffer, a copy into fresh memory, and the same bytes posted to another thread as transferred 1 MB buffers (a move transfers whole batches of that size). Medians of ${q ? 1 : '5 (3 at 400 MB)'} repetitions; the ratio is the median of the per-sample ratios.`,
      '',
      'The paper\'s columns are **ADM-Opt on two HP 720s over 10 Mbit/s Ethernet** (1994), "data size" being the whole training set as here; MPVM process migration was 1.25 × raw TCP at 20.8 MB (' +
        `${PAPER_MPVM_20MB_S.toFixed(1)} s). They are a different network and era: they are beside ours for shape, not for speed.`,
      '',
      table(
        [
          'training set (MB)',
          'moved (MB)',
          'host rate (ex/s)',
          'mid-pass',
          'obtrusiveness (ms)',
          'migration (ms)',
          'wait (ms)',
          'move (ms)',
          'warm copy (ms)',
          'fresh copy (ms)',
          'thread post (ms)',
          'migration ÷ warm copy (min–max)',
          'paper ADM (s)',
          'paper raw TCP (s)',
        ],
        rows.map((r) => [
          r.sizeMB,
          r.movedMB,
          r.emulatedRate ?? 'unthrottled',
          `${r.midPass}/${r.n}`,
          r.obtrusivenessMs,
          r.migrationMs,
          r.deferralMs,
          r.moveMs,
          r.memcpyWarmMs,
          r.memcpyFreshMs,
          r.postTransferMs,
          `${num(r.ratioWarm ?? Number.NaN)} (${num(r.ratioWarmMin ?? Number.NaN)}–${num(r.ratioWarmMax ?? Number.NaN)})`,
          PAPER[String(r.sizeMB)]?.adm,
          PAPER[String(r.sizeMB)]?.tcp,
        ]),
      ),
      '',
      `At 20.8 MB with both workers stopped for the move: migration ${num(stopped20.migrationMs ?? Number.NaN)} ms (wait ${num(stopped20.deferralMs ?? Number.NaN)} + move ${num(stopped20.moveMs ?? Number.NaN)}), obtrusiveness ${num(stopped20.obtrusivenessMs ?? Number.NaN)} ms, migration ÷ warm copy ${num(stopped20.ratioWarm ?? Number.NaN)} (${num(stopped20.ratioWarmMin ?? Number.NaN)}–${num(stopped20.ratioWarmMax ?? Number.NaN)}), ${stopped20.n} samples.`,
      '',
      `Samples redone because the coordinator sent the vacate only after the pass had ended (descheduled on this shared machine, it missed the window): ${discarded.length} (each in the JSON's \`samples.discarded\`; at most ${MAX_ATTEMPTS} tries per sample, and a third miss is kept and fails the mid-pass check).`,
      '',
      table(
        ['target', 'value', ''],
        [
          [
            `migration ÷ warm copy ≤ ${target20} at 20.8 MB`,
            summary.threadRatio20MB,
            verdict(summary.threadRatio20MB, target20),
          ],
          [
            `migration ÷ warm copy ≤ ${target} at 100 MB`,
            summary.threadRatio100MB,
            verdict(summary.threadRatio100MB, target),
          ],
          [
            `migration ÷ warm copy ≤ ${target} at 400 MB`,
            summary.threadRatio400MB,
            verdict(summary.threadRatio400MB, target),
          ],
        ],
      ),
      '### Moving back when the host returns',
      '',
      "An `available` redistribution (its reason in the report; no obtrusiveness). The *wait* is mostly the job's own choice: a non-urgent event is applied only after `minIntervalMs` (100 ms) of computing since the last move; the *move* is the work.",
      '',
      table(
        ['training set (MB)', 'moved back (MB)', 'wait (ms)', 'move (ms)'],
        rows.map((r) => [r.sizeMB, r.backMovedMB, r.backDeferralMs, r.backMoveMs]),
      ),
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
      settings: {
        sizesMB: sizes,
        dim: DIM,
        hidden: HIDDEN,
        workers: 2,
        rebalance: false,
        bytesPerExemplar: rowBytes,
        calibration,
        vacateAfter: 'a third of the chunks of one pass (job.chunksDone())',
      },
      samples: { kept: samples, discarded },
      checks,
      summary,
      markdown: md,
      chart,
    };
  },
};

interface Row {
  readonly sizeMB: number;
  readonly emulatedRate: number | null;
  readonly n: number;
  readonly midPass: number;
  readonly movedMB: number;
  readonly obtrusivenessMs: number | null;
  readonly migrationMs: number | null;
  readonly deferralMs: number | null;
  readonly moveMs: number | null;
  readonly memcpyWarmMs: number;
  readonly memcpyFreshMs: number;
  readonly postTransferMs: number;
  readonly ratioWarm: number | null;
  readonly ratioWarmMin: number | null;
  readonly ratioWarmMax: number | null;
  readonly backMovedMB: number | null;
  readonly backDeferralMs: number | null;
  readonly backMoveMs: number | null;
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : null;
}

function summarise(sizeMB: number, s: readonly Sample[]): Row {
  const ratios = spread(s.map((x) => x.ratioWarm ?? Number.NaN));
  const backBytes = medianOrNull(s.map((x) => x.backBytesMoved));
  return {
    sizeMB,
    emulatedRate: s[0]?.emulatedRate == null ? null : sig(s[0].emulatedRate),
    n: s.length,
    midPass: s.filter((x) => x.midPass).length,
    movedMB: sig(median(s.map((x) => x.bytesMoved)) / 1e6, 3)!,
    obtrusivenessMs: sig(medianOrNull(s.map((x) => x.obtrusivenessMs))),
    migrationMs: sig(medianOrNull(s.map((x) => x.migrationMs))),
    deferralMs: sig(medianOrNull(s.map((x) => x.deferralMs))),
    moveMs: sig(medianOrNull(s.map((x) => x.moveMs))),
    memcpyWarmMs: sig(median(s.map((x) => x.lowerBounds.memcpyWarmMs)))!,
    memcpyFreshMs: sig(median(s.map((x) => x.lowerBounds.memcpyFreshMs)))!,
    postTransferMs: sig(median(s.map((x) => x.lowerBounds.postTransferMs)))!,
    ratioWarm: ratios.n ? sig(ratios.median) : null,
    ratioWarmMin: ratios.n ? sig(ratios.min) : null,
    ratioWarmMax: ratios.n ? sig(ratios.max) : null,
    backMovedMB: backBytes === null ? null : sig(backBytes / 1e6, 3),
    backDeferralMs: sig(medianOrNull(s.map((x) => x.backDeferralMs))),
    backMoveMs: sig(medianOrNull(s.map((x) => x.backMoveMs))),
  };
}

function pts(rows: readonly Row[], f: (r: Row) => number | null): [number, number][] {
  return rows.flatMap((r) => {
    const v = f(r);
    return v === null ? [] : [[r.movedMB, v] as [number, number]];
  });
}
