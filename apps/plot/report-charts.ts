/** The charts of one Opt run report: training progress, data per worker, redistribution costs. */
import type { RunReport } from '../opt/report.ts';
import { barChart, type LineSeries, lineChart, type Marker } from './chart/index.ts';

export interface NamedChart {
  /** File name suffix: `<report>-<name>.svg`. */
  readonly name: string;
  readonly svg: string;
}

export function reportCharts(report: RunReport): NamedChart[] {
  return [
    { name: 'training', svg: trainingChart(report) },
    { name: 'workers', svg: workersChart(report) },
    { name: 'redistributions', svg: redistributionsChart(report) },
  ];
}

function describeRun(r: RunReport): string {
  const speeds = Array.isArray(r.settings['speeds'])
    ? ` · speeds ${(r.settings['speeds'] as number[]).join(':')}`
    : '';
  const held = r.data.validation ? ` + ${r.data.validation} validation` : '';
  return `${r.data.source} · ${r.data.train} train${held} / ${r.data.test} test${speeds} · mode ${String(r.settings['mode'] ?? '?')} · ${r.createdAt.slice(0, 16).replace('T', ' ')}`;
}

/**
 * The training rows' error without the weight-decay term where the report has it, so it
 * compares with the validation error (which has none); older reports have only the error
 * SCG minimised, decay term included, and the series says so.
 */
function trainingErrorSeries(r: RunReport) {
  const plain = r.iterations.every(
    (it) => it.trainingError !== undefined && Number.isFinite(it.trainingError),
  );
  return {
    // An older report may not say its λ either: then it is not known to be 0.
    name: plain || r.settings['weightDecay'] === 0 ? 'training error' : 'training error (with weight decay)',
    points: r.iterations.map((it) => [it.iteration, plain ? it.trainingError! : it.error] as const),
    dots: true,
  };
}

/**
 * Training error (left) and test accuracy (right) per iteration; with validation rows, their
 * error (the curve that chose the weights) and accuracy too, and a marker at the iteration kept.
 */
export function trainingChart(r: RunReport): string {
  const acc = r.iterations.filter((it) => Number.isFinite(it.testAccuracy));
  // Absent from reports written before validation, null (JSON's NaN) in runs without it.
  const val = r.iterations.filter(
    (it) => Number.isFinite(it.validationAccuracy) && Number.isFinite(it.validationError),
  );
  const best = r.final.bestIteration ?? null;
  const kept = best === null ? '' : `, weights of iteration ${best}`;
  return lineChart({
    title: `Training error and ${val.length ? 'test / validation' : 'test'} accuracy (final: ${(r.final.testAccuracy * 100).toFixed(1)} %${kept})`,
    subtitle: describeRun(r),
    x: { label: 'iteration', unit: 'CG iterations', min: 0 },
    y: { label: val.length ? 'training and validation error' : 'training error', unit: 'mean per exemplar' },
    y2: { label: val.length ? 'test and validation accuracy' : 'test accuracy', unit: '%', min: 0, max: 100 },
    markers:
      best === null
        ? []
        : [
            {
              x: best,
              label: `kept: iteration ${best} (lowest validation error)`,
              colour: '#009E73',
              dashed: true,
            },
          ],
    series: [
      trainingErrorSeries(r),
      {
        name: 'test accuracy',
        points: acc.map((it) => [it.iteration, it.testAccuracy * 100]),
        right: true,
        dots: true,
      },
      ...(val.length
        ? [
            {
              name: 'validation error',
              points: val.map((it) => [it.iteration, it.validationError] as const),
              dashed: true,
              colour: '#CC79A7',
            },
            {
              name: 'validation accuracy',
              points: val.map((it) => [it.iteration, it.validationAccuracy * 100] as const),
              right: true,
              dashed: true,
              colour: '#009E73',
            },
          ]
        : []),
    ],
    emptyNote: 'no iterations in this report',
  });
}

const EVENT_COLOURS: Record<string, string> = { vacate: '#D55E00', available: '#009E73', load: '#E69F00' };

/** Exemplars held by each worker over time (steps), with every event and redistribution marked. */
export function workersChart(r: RunReport): string {
  const hosts = r.workers.map((w) => w.host);
  const timeline: { t: number; counts: readonly number[] }[] = [];
  for (const it of r.iterations) timeline.push({ t: it.seconds, counts: it.exemplars });
  for (const d of r.redistributions) {
    timeline.push({ t: (d.triggeredAt + (d.migrationMs ?? 0)) / 1000, counts: d.countsAfter });
  }
  timeline.sort((a, b) => a.t - b.t);
  // Before the first redistribution the counts are the initial partition.
  const firstMove = r.redistributions.length ? r.redistributions[0].triggeredAt / 1000 : Infinity;
  const initial = r.iterations.find((it) => it.seconds <= firstMove)?.exemplars ?? timeline[0]?.counts;
  if (initial) timeline.unshift({ t: 0, counts: initial });
  const series: LineSeries[] = hosts.map((h, i) => ({
    name: `${h} (speed ${r.workers[i].declaredSpeed})`,
    points: timeline.map((p) => [p.t, p.counts[i] ?? 0] as const),
    step: true,
  }));
  const markers: Marker[] = [
    ...r.events.map((e) => ({
      x: e.receivedAt / 1000,
      label: `${e.type} ${e.host}${e.fraction !== undefined ? ` ${e.fraction}` : ''}${e.outcome === 'applied' ? '' : ` (${e.outcome})`}`,
      colour: e.outcome === 'applied' ? (EVENT_COLOURS[e.type] ?? '#555') : '#999',
      dashed: true,
    })),
    ...r.redistributions.map((d) => ({
      x: (d.triggeredAt + (d.migrationMs ?? 0)) / 1000,
      label: `R${d.index + 1} ${d.reason}`,
      colour: '#555',
      dashed: false,
    })),
  ];
  return lineChart({
    title: 'Exemplars per worker over time, with events and redistributions (R)',
    subtitle: describeRun(r),
    x: { label: 'time since training started', unit: 's', min: 0 },
    y: { label: 'exemplars held', unit: 'exemplars' },
    series,
    markers,
    emptyNote: 'no iterations in this report',
  });
}

/** Each redistribution's obtrusiveness and migration cost (the paper's measures). */
export function redistributionsChart(r: RunReport): string {
  const ds = r.redistributions;
  return barChart({
    title: 'Redistributions: obtrusiveness and migration cost',
    subtitle:
      "from the event's arrival · obtrusiveness: until the vacated host is empty · migration: until all compute again",
    categories: ds.map(
      (d) =>
        `R${d.index + 1} ${d.reason} @${(d.triggeredAt / 1000).toFixed(1)} s, ${(d.bytesMoved / 1e6).toFixed(1)} MB`,
    ),
    x: { label: 'redistribution (reason, when, bytes moved)' },
    y: { label: 'time', unit: 'ms' },
    series: [
      { name: 'obtrusiveness', values: ds.map((d) => d.obtrusivenessMs), colour: '#D55E00' },
      { name: 'migration cost', values: ds.map((d) => d.migrationMs), colour: '#0072B2' },
    ],
    emptyNote: 'no redistributions in this run',
  });
}
