/**
 * Adaptation: a trace in which one host drops to 25 % speed for the middle third of the run
 * and the fastest host is vacated and comes back. Total time for the static build, for ADM,
 * and for an oracle that knew the trace in advance — computed, not run: for every pass, the
 * work divided by the sum of the rates the hosts it may use were measured at in that phase.
 */
import { lineChart, type Marker } from '../apps/plot/chart/index.ts';
import type { HostName } from '../framework/index.ts';
import { type Trace, TraceScheduler } from '../scheduler-stub/index.ts';
import type { Benchmark } from './lib/context.ts';
import { optData } from './lib/data.ts';
import { num, table, verdict } from './lib/markdown.ts';
import { startOptJob } from './lib/opt-job.ts';
import { ratio, sig } from './lib/stats.ts';

const SPEEDS = [1, 1, 2, 4];

/** The trace, in passes completed: h2 at 25 % for the middle third; h3 away from 45 % to 75 %. */
export function adaptationTrace(passes: number): Trace {
  const at = (f: number) => ({ iteration: Math.max(1, Math.round(passes * f)) });
  return {
    description: 'h2 at 25 % speed for the middle third; h3 (fastest) vacated from 45 % to 75 % of the run',
    events: [
      { at: at(1 / 3), event: { type: 'load', host: 'h2', fraction: 0.25 } },
      { at: at(0.45), event: { type: 'vacate', host: 'h3' } },
      { at: at(2 / 3), event: { type: 'load', host: 'h2', fraction: 1 } },
      { at: at(0.75), event: { type: 'available', host: 'h3' } },
    ],
  };
}

interface HostState {
  available: boolean;
  load: number;
}

/** Each host's state during pass k (0-based): every entry with at.iteration ≤ k applied. */
function statesDuring(trace: Trace, hosts: readonly HostName[], k: number): HostState[] {
  const states = hosts.map(() => ({ available: true, load: 1 }));
  for (const e of trace.events) {
    if (!('iteration' in e.at) || e.at.iteration > k) continue;
    const s = states[hosts.indexOf(e.event.host)];
    if (e.event.type === 'vacate') s.available = false;
    else if (e.event.type === 'available') s.available = true;
    else s.load = e.event.fraction;
  }
  return states;
}

interface ModeRun {
  readonly mode: 'adm' | 'plain';
  readonly passMs: number[];
  /** Per pass: each worker's measured base rate (exemplars/s at full load), as the job reports it. */
  readonly baseRates: (number | null)[][];
  readonly redistributions: number;
}

export const adaptation: Benchmark = {
  name: 'adaptation',
  title: 'Adaptation: static vs ADM vs an oracle under a trace of load and vacate events',
  estimatedSeconds: 90,
  async run(ctx) {
    const q = ctx.quick;
    const data = await optData(q);
    const hidden = q ? 4 : 32;
    const passes = q ? 8 : 36;
    const trace = adaptationTrace(passes);
    const hosts = SPEEDS.map((_, i) => `h${i}`);
    const runs: ModeRun[] = [];
    for (const mode of ['plain', 'adm'] as const) {
      const j = await startOptJob({
        mode,
        train: data.train,
        classes: data.classes.length,
        hidden,
        speeds: SPEEDS,
        emulate: true,
      });
      await j.job.pass(j.weights); // warm-up, before the clock starts
      j.resetClock();
      const scheduler = new TraceScheduler(trace, { send: (e) => void j.job.send(e) });
      const passMs: number[] = [];
      const baseRates: (number | null)[][] = [];
      scheduler.start();
      for (let k = 0; k < passes; k++) {
        const t = performance.now();
        await j.job.pass(j.weights);
        passMs.push(performance.now() - t);
        baseRates.push(j.job.workers().map((w) => w.measuredRate));
        scheduler.onIteration(k + 1);
      }
      scheduler.stop();
      runs.push({ mode, passMs, baseRates, redistributions: j.job.redistributions().length });
      await j.job.close();
      ctx.log(`adaptation: ${mode} ${num(sum(passMs))} ms in ${passes} passes`);
    }
    const plain = runs.find((r) => r.mode === 'plain')!;
    const adm = runs.find((r) => r.mode === 'adm')!;
    // The oracle: the static run measured every host in every phase (it never stops using any);
    // its base rates × the loads in force give what each host could do; the oracle uses exactly
    // the available ones, perfectly balanced, and moves nothing.
    const oraclePassMs = plain.baseRates.map((rates, k) => {
      const states = statesDuring(trace, hosts, k);
      const capacity = rates.reduce<number>(
        (s, r, i) => s + (states[i].available ? (r ?? 0) * states[i].load : 0),
        0,
      );
      return (data.train.count / capacity) * 1000;
    });
    const totals = { plain: sum(plain.passMs), adm: sum(adm.passMs), oracle: sum(oraclePassMs) };
    const summary = {
      adaptationRatio: sig(ratio(totals.adm, totals.oracle)),
      staticToOracle: sig(ratio(totals.plain, totals.oracle)),
      staticMs: sig(totals.plain),
      admMs: sig(totals.adm),
      oracleMs: sig(totals.oracle),
      admRedistributions: adm.redistributions,
    };
    const phases = trace.events.map(
      (e) =>
        `after pass ${'iteration' in e.at ? e.at.iteration : '?'}: ${e.event.type} ${e.event.host}${e.event.type === 'load' ? ` ${e.event.fraction}` : ''}`,
    );
    const md = [
      `Opt's kernel on ${data.source} (${data.train.count} training exemplars, ${data.dim}-${hidden}-${data.classes.length}), weights fixed, ${passes} passes, 4 workers emulating speeds ${SPEEDS.join(':')} (declared to ADM). Trace (${trace.description}): ${phases.join('; ')}.`,
      '',
      'The static build applies `load` (its host really slows down) but cannot move data, so it ignores `vacate` and keeps computing on the reclaimed host: its time is what the owner pays for. The oracle is computed per pass from the rates the static run measured on every host in that phase, using only the hosts allowed, perfectly balanced, with no move and no per-pass overhead: a lower bound.',
      '',
      table(
        ['', 'total (ms)', '÷ oracle'],
        [
          ['static (plain)', totals.plain, ratio(totals.plain, totals.oracle)],
          [`ADM (${adm.redistributions} redistributions)`, totals.adm, ratio(totals.adm, totals.oracle)],
          ['oracle (computed)', totals.oracle, 1],
        ],
      ),
      `\`adaptationRatio\` = ADM ÷ oracle = **${num(summary.adaptationRatio ?? Number.NaN)}** (no target set in the issue; ${verdict(summary.adaptationRatio, 1.1)} against 1.1 for reference).`,
    ].join('\n');
    const cumulative = (ms: readonly number[]) => {
      const points: [number, number][] = [[0, 0]];
      ms.forEach((m, k) => {
        points.push([k + 1, points[k][1] + m / 1000]);
      });
      return points;
    };
    const markers: Marker[] = trace.events.map((e) => ({
      x: 'iteration' in e.at ? e.at.iteration : 0,
      label: `${e.event.type} ${e.event.host}${e.event.type === 'load' ? ` ${e.event.fraction}` : ''}`,
      colour: e.event.type === 'vacate' ? '#D55E00' : e.event.type === 'available' ? '#009E73' : '#E69F00',
    }));
    const chart = lineChart({
      title: 'Adaptation: cumulative time under the trace',
      subtitle: `speeds ${SPEEDS.join(':')} · ADM ÷ oracle = ${num(summary.adaptationRatio ?? Number.NaN)} · static ÷ oracle = ${num(summary.staticToOracle ?? Number.NaN)}`,
      x: { label: 'passes completed', unit: 'count', min: 0 },
      y: { label: 'elapsed', unit: 's' },
      series: [
        { name: 'static (plain)', points: cumulative(plain.passMs), colour: '#D55E00' },
        { name: 'ADM', points: cumulative(adm.passMs), colour: '#0072B2' },
        { name: 'oracle (computed)', points: cumulative(oraclePassMs), colour: '#009E73', dashed: true },
      ],
      markers,
    });
    return {
      settings: { data: data.source, trainCount: data.train.count, hidden, passes, speeds: SPEEDS, trace },
      samples: { runs, oraclePassMs },
      summary,
      markdown: md,
      chart,
    };
  },
};

function sum(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0);
}
