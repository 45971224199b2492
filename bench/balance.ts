/**
 * Balance: workers emulating hosts of speeds 1:2:4 and 1:1:1:8. The static build splits the
 * data equally; ADM starts from EQUAL declared ratings, so it must learn the real speeds from
 * measured throughput. Seconds per pass for static, for ADM once settled, and the ideal:
 * total work ÷ the sum of the workers' measured rates.
 */
import { barChart, lineChart } from '../apps/plot/chart/index.ts';
import type { Benchmark } from './lib/context.ts';
import { optData } from './lib/data.ts';
import { num, percent, table, verdict } from './lib/markdown.ts';
import { type OptJob, startOptJob } from './lib/opt-job.ts';
import { median, ratio, sig } from './lib/stats.ts';

interface ConfigResult {
  readonly speeds: readonly number[];
  readonly staticPassMs: number[];
  readonly admPassMs: number[];
  readonly admCounts: number[][];
  /** Exemplars/s of each worker measured in the static run (each ran its whole share). */
  readonly staticRates: (number | null)[];
  readonly admLearnedRates: (number | null)[];
  readonly emulatedRates: number[];
  readonly staticMs: number;
  readonly admSettledMs: number;
  readonly idealMs: number;
  readonly ratioToIdeal: number | null;
}

export const balance: Benchmark = {
  name: 'balance',
  title: 'Balance: work follows host speed (ADM learning speeds from equal ratings)',
  estimatedSeconds: 90,
  async run(ctx) {
    const q = ctx.quick;
    const data = await optData(q);
    const hidden = q ? 4 : 32;
    const staticPasses = q ? 3 : 8;
    const admPasses = q ? 6 : 18;
    const configs = [
      [1, 2, 4],
      [1, 1, 1, 8],
    ];
    const results: ConfigResult[] = [];
    for (const speeds of configs) {
      const common = { train: data.train, classes: data.classes.length, hidden, emulate: true };
      // Static: declared = emulated speeds (the plain build ignores ratings: equal split anyway).
      const st = await startOptJob({ ...common, mode: 'plain', speeds });
      const staticPassMs = await timePasses(st, staticPasses);
      const staticRates = st.job.workers().map((w) => w.measuredRate);
      await st.job.close();
      // ADM: declared all equal, emulated at the real speeds.
      const adm = await startOptJob({
        ...common,
        mode: 'adm',
        speeds: speeds.map(() => 1),
        emulatedSpeeds: speeds,
      });
      const emulatedRates = adm.job.workers().map((w) => w.emulatedRate ?? 0);
      const admCounts: number[][] = [];
      const admPassMs = await timePasses(adm, admPasses, () => {
        admCounts.push([...adm.job.counts()]);
      });
      const admLearnedRates = adm.job.workers().map((w) => w.measuredRate);
      await adm.job.close();
      const settled = admPassMs.slice(-Math.max(2, Math.floor(admPasses / 3)));
      const sumRates = staticRates.reduce<number>((s, r) => s + (r ?? 0), 0);
      const idealMs = (data.train.count / sumRates) * 1000;
      const admSettledMs = median(settled);
      results.push({
        speeds,
        staticPassMs,
        admPassMs,
        admCounts,
        staticRates,
        admLearnedRates,
        emulatedRates,
        staticMs: median(staticPassMs.slice(1)),
        admSettledMs,
        idealMs,
        ratioToIdeal: ratio(admSettledMs, idealMs),
      });
      ctx.log(
        `balance ${speeds.join(':')}: static ${num(median(staticPassMs))} ms, ADM ${num(admSettledMs)} ms, ideal ${num(idealMs)} ms per pass`,
      );
    }
    const worst = Math.max(...results.map((r) => r.ratioToIdeal ?? Infinity));
    const summary = {
      ratioToIdeal: sig(worst),
      target: 1.05,
      targetMet: worst <= 1.05,
      configs: Object.fromEntries(
        results.map((r) => [
          r.speeds.join(':'),
          {
            staticMsPerPass: sig(r.staticMs),
            admSettledMsPerPass: sig(r.admSettledMs),
            idealMsPerPass: sig(r.idealMs),
            ratioToIdeal: sig(r.ratioToIdeal),
            staticRatioToIdeal: sig(ratio(r.staticMs, r.idealMs)),
          },
        ]),
      ),
    };
    const md = [
      `Opt's kernel on ${data.source} (${data.train.count} training exemplars, ${data.dim}-${hidden}-${data.classes.length}), weights fixed, one pass = one evaluation (an SCG iteration is two). Workers are threads throttled to the emulated speeds. Static: the plain build's equal split, ${staticPasses} passes (the first, warm-up, left out). ADM: declared ratings all 1, so it starts from the equal split and must learn the real speeds from measured throughput; ${admPasses} passes, "settled" = median of the last third. Ideal = ${data.train.count} exemplars ÷ the sum of the workers' rates measured in the static run.`,
      '',
      'No events are sent: at each pass boundary ADM re-plans from its measured speeds and moves data when the estimated gain exceeds 10 % (twice the event-driven threshold, so measurement noise does not move data).',
      '',
      table(
        [
          'speeds',
          'static (ms/pass)',
          'ADM settled (ms/pass)',
          'ideal (ms/pass)',
          'ADM ÷ ideal',
          'static ÷ ideal',
          'target ADM ≤ 1.05 × ideal',
        ],
        results.map((r) => [
          r.speeds.join(':'),
          r.staticMs,
          r.admSettledMs,
          r.idealMs,
          r.ratioToIdeal,
          ratio(r.staticMs, r.idealMs),
          verdict(r.ratioToIdeal, 1.05),
        ]),
      ),
      '### Rates and final partition',
      '',
      table(
        [
          'speeds',
          'worker',
          'emulated (ex/s)',
          'measured, static (ex/s)',
          'learned by ADM (ex/s)',
          'ADM share at the end',
        ],
        results.flatMap((r) =>
          r.speeds.map((s, i) => [
            r.speeds.join(':'),
            `h${i} (speed ${s})`,
            r.emulatedRates[i],
            r.staticRates[i],
            r.admLearnedRates[i],
            percent(r.admCounts.at(-1)![i] / data.train.count),
          ]),
        ),
      ),
    ].join('\n');
    const chart = barChart({
      title: 'Balance: time per pass, static vs ADM (settled) vs ideal',
      subtitle: `${data.source} · ADM started from equal ratings · target: ADM within 5 % of ideal`,
      categories: results.map((r) => `speeds ${r.speeds.join(':')}`),
      x: { label: 'emulated host speeds' },
      y: { label: 'time per pass', unit: 'ms' },
      series: [
        { name: 'static equal split', values: results.map((r) => r.staticMs), colour: '#D55E00' },
        { name: 'ADM, settled', values: results.map((r) => r.admSettledMs), colour: '#0072B2' },
        { name: 'ideal', values: results.map((r) => r.idealMs), colour: '#009E73' },
      ],
    });
    const convergence = lineChart({
      title: 'Balance: ADM learning the speeds, pass by pass',
      subtitle: 'time per pass from the equal split on; dashed: the ideal',
      x: { label: 'pass', unit: 'count', min: 1 },
      y: { label: 'time per pass', unit: 'ms' },
      series: results.flatMap((r, k) => [
        {
          name: `ADM ${r.speeds.join(':')}`,
          points: r.admPassMs.map((ms, i) => [i + 1, ms] as const),
          dots: true,
          colour: k ? '#D55E00' : '#0072B2',
        },
        {
          name: `ideal ${r.speeds.join(':')}`,
          points: [[1, r.idealMs] as const, [r.admPassMs.length, r.idealMs] as const],
          dashed: true,
          colour: k ? '#D55E00' : '#0072B2',
        },
      ]),
    });
    return {
      settings: {
        data: data.source,
        trainCount: data.train.count,
        hidden,
        staticPasses,
        admPasses,
        configs,
        nudge: 'load h0 1 after every ADM pass',
      },
      samples: results,
      summary,
      markdown: md,
      chart,
      extraCharts: { convergence },
    };
  },
};

async function timePasses(j: OptJob, passes: number, after?: () => void): Promise<number[]> {
  const times: number[] = [];
  for (let p = 0; p < passes; p++) {
    const t = performance.now();
    await j.job.pass(j.weights);
    times.push(performance.now() - t);
    after?.();
  }
  return times;
}
