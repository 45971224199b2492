/** Grouped bar charts: one group per category, one bar per series, values labelled. */
import {
  type AxisSpec,
  drawLegend,
  drawTitle,
  drawYAxis,
  emptyNote,
  type LegendEntry,
  makeFrame,
  scaleFor,
  xAxisTitle,
} from './frame.ts';
import { formatTick } from './scale.ts';
import { colour, el, svgDocument, text } from './svg.ts';

export interface BarSeries {
  readonly name: string;
  /** One value per category; null leaves a gap. */
  readonly values: readonly (number | null)[];
  readonly colour?: string;
}

export interface BarChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly width?: number;
  readonly height?: number;
  readonly categories: readonly string[];
  readonly x: AxisSpec;
  readonly y: AxisSpec;
  readonly series: readonly BarSeries[];
  /** Print each bar's value above it (default true when there are few bars). */
  readonly valueLabels?: boolean;
  readonly emptyNote?: string;
}

export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 760;
  const height = spec.height ?? 420;
  const series = spec.series.map((s, i) => ({ ...s, colour: s.colour ?? colour(i) }));
  const legend: LegendEntry[] = series.map((s) => ({ name: s.name, colour: s.colour, kind: 'box' }));
  const longest = Math.max(0, ...spec.categories.map((c) => c.length));
  const rotate = longest * 6.5 > (width - 100) / Math.max(1, spec.categories.length);
  const f = makeFrame(width, height, legend, {
    subtitle: !!spec.subtitle,
    bottomExtra: rotate ? Math.min(120, longest * 3.8) : 0,
  });
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const y = scaleFor(spec.y, values, [f.bottom, f.top]);
  const body: string[] = [
    ...drawTitle(f, spec.title, spec.subtitle),
    ...drawLegend(f, legend, !!spec.subtitle),
    ...drawYAxis(f, y, spec.y, 'left'),
  ];
  const n = spec.categories.length;
  const group = (f.right - f.left) / Math.max(1, n);
  const bar = Math.min(48, (group * 0.8) / Math.max(1, series.length));
  const labels = spec.valueLabels ?? n * series.length <= 24;
  const base = y.kind === 'log' ? f.bottom : y(Math.max(0, y.domain[0]));
  spec.categories.forEach((c, i) => {
    const gx = f.left + group * i + (group - bar * series.length) / 2;
    series.forEach((s, k) => {
      const v = s.values[i];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const top = y(v);
      body.push(
        el('rect', {
          x: gx + k * bar,
          y: Math.min(top, base),
          width: bar - 2,
          height: Math.abs(base - top),
          fill: s.colour,
        }),
      );
      if (labels) {
        body.push(
          text(gx + k * bar + bar / 2 - 1, Math.min(top, base) - 4, formatTick(v), {
            'text-anchor': 'middle',
            'font-size': 10,
            fill: '#333',
          }),
        );
      }
    });
    const cx = f.left + group * (i + 0.5);
    body.push(
      rotate
        ? text(cx, f.bottom + 14, c, {
            'text-anchor': 'end',
            transform: `rotate(-35 ${cx} ${f.bottom + 14})`,
          })
        : text(cx, f.bottom + 18, c, { 'text-anchor': 'middle' }),
    );
  });
  body.push(el('line', { x1: f.left, y1: f.bottom, x2: f.right, y2: f.bottom, stroke: '#333' }));
  body.push(xAxisTitle(f, spec.x));
  if (values.length === 0) body.push(emptyNote(f, spec.emptyNote ?? 'no data'));
  return svgDocument(width, height, spec.title, body);
}
