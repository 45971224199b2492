/** Line charts: series of (x, y) points, an optional right-hand axis, vertical event markers. */
import {
  type AxisSpec,
  drawLegend,
  drawTitle,
  drawXAxis,
  drawYAxis,
  emptyNote,
  type LegendEntry,
  makeFrame,
  scaleFor,
} from './frame.ts';
import { colour, el, polyline, svgDocument, text } from './svg.ts';

export interface LineSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  readonly colour?: string;
  readonly dashed?: boolean;
  /** Hold each value until the next point (counts that change in steps). */
  readonly step?: boolean;
  /** Draw a dot at every point. */
  readonly dots?: boolean;
  /** Plot against the right-hand axis (`y2`). */
  readonly right?: boolean;
}

/** A vertical line at `x` with a short label (an event, a redistribution). */
export interface Marker {
  readonly x: number;
  readonly label: string;
  readonly colour?: string;
  readonly dashed?: boolean;
}

export interface LineChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly width?: number;
  readonly height?: number;
  readonly x: AxisSpec;
  readonly y: AxisSpec;
  readonly y2?: AxisSpec;
  readonly series: readonly LineSeries[];
  readonly markers?: readonly Marker[];
  /** Shown when no series has a point. */
  readonly emptyNote?: string;
}

export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 760;
  const height = spec.height ?? 420;
  const series = spec.series.map((s, i) => ({ ...s, colour: s.colour ?? colour(i) }));
  const legend: LegendEntry[] = series.map((s) => ({
    name: spec.y2 ? `${s.name} (${s.right ? 'right' : 'left'})` : s.name,
    colour: s.colour,
    dashed: s.dashed,
  }));
  const f = makeFrame(width, height, legend, { subtitle: !!spec.subtitle, rightAxis: !!spec.y2 });
  const all = series.flatMap((s) => s.points);
  const xs = [...all.map((p) => p[0]), ...(spec.markers ?? []).map((m) => m.x)];
  const x = scaleFor({ zero: false, ...spec.x }, xs, [f.left, f.right]);
  const left = series.filter((s) => !s.right).flatMap((s) => s.points.map((p) => p[1]));
  const right = series.filter((s) => s.right).flatMap((s) => s.points.map((p) => p[1]));
  const y = scaleFor(spec.y, left, [f.bottom, f.top]);
  const y2 = spec.y2 ? scaleFor(spec.y2, right, [f.bottom, f.top]) : null;
  const body: string[] = [
    ...drawTitle(f, spec.title, spec.subtitle),
    ...drawLegend(f, legend, !!spec.subtitle),
    ...drawXAxis(f, x, spec.x),
    ...drawYAxis(f, y, spec.y, 'left'),
  ];
  if (y2 && spec.y2) body.push(...drawYAxis(f, y2, spec.y2, 'right'));
  (spec.markers ?? []).forEach((m, i) => {
    const px = x(m.x);
    const c = m.colour ?? '#888';
    body.push(
      el('line', {
        x1: px,
        y1: f.top,
        x2: px,
        y2: f.bottom,
        stroke: c,
        'stroke-width': 1.2,
        'stroke-dasharray': m.dashed === false ? undefined : '4 3',
      }),
      // Labels alternate in height so that markers close together stay readable.
      text(px + 3, f.top + 12 + (i % 3) * 13, m.label, { fill: c, 'font-size': 11 }),
    );
  });
  for (const s of series) {
    const ys = s.right && y2 ? y2 : y;
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    const px: [number, number][] = [];
    pts.forEach((p, k) => {
      if (s.step && k > 0) px.push([x(p[0]), ys(pts[k - 1][1])]);
      px.push([x(p[0]), ys(p[1])]);
    });
    body.push(
      polyline(px, {
        stroke: s.colour,
        'stroke-width': 2,
        'stroke-dasharray': s.dashed ? '6 4' : undefined,
        'stroke-linejoin': 'round',
      }),
    );
    if (s.dots || pts.length === 1) {
      for (const p of pts) body.push(el('circle', { cx: x(p[0]), cy: ys(p[1]), r: 3, fill: s.colour }));
    }
  }
  if (all.length === 0) body.push(emptyNote(f, spec.emptyNote ?? 'no data'));
  return svgDocument(width, height, spec.title, body);
}
