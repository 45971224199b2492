/** What every chart shares: title, legend, plot area, axes with their labels and units. */
import { formatTick, linearScale, logScale, niceDomain, type Scale, withTicks } from './scale.ts';
import { el, text } from './svg.ts';

export interface AxisSpec {
  readonly label: string;
  /** Shown in brackets after the label: "ms", "MB", "%", "exemplars". */
  readonly unit?: string;
  readonly log?: boolean;
  /** Fixed ends; otherwise from the data (linear axes start at 0 unless `zero` is false). */
  readonly min?: number;
  readonly max?: number;
  readonly zero?: boolean;
  /** Tick values to show instead of the automatic ones (e.g. worker counts 2, 4, 8, 16, 32). */
  readonly ticks?: readonly number[];
}

export interface LegendEntry {
  readonly name: string;
  readonly colour: string;
  readonly dashed?: boolean;
  readonly kind?: 'line' | 'box';
}

export interface Frame {
  readonly width: number;
  readonly height: number;
  /** Plot area. */
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

export function axisTitle(a: AxisSpec): string {
  return a.unit ? `${a.label} (${a.unit})` : a.label;
}

const LEGEND_ROW = 18;

/** Lay out the plot area below the title and legend rows. */
export function makeFrame(
  width: number,
  height: number,
  legend: readonly LegendEntry[],
  options: { subtitle?: boolean; rightAxis?: boolean; bottomExtra?: number },
): Frame {
  const rows = legendRows(legend, width - 80).length;
  const top = 34 + (options.subtitle ? 16 : 0) + rows * LEGEND_ROW + 10;
  return {
    width,
    height,
    left: 76,
    right: width - (options.rightAxis ? 76 : 24),
    top,
    bottom: height - 48 - (options.bottomExtra ?? 0),
  };
}

function legendWidth(e: LegendEntry): number {
  return 28 + e.name.length * 6.6 + 16;
}

function legendRows(legend: readonly LegendEntry[], maxWidth: number): LegendEntry[][] {
  const rows: LegendEntry[][] = [];
  let row: LegendEntry[] = [];
  let w = 0;
  for (const e of legend) {
    const ew = legendWidth(e);
    if (row.length && w + ew > maxWidth) {
      rows.push(row);
      row = [];
      w = 0;
    }
    row.push(e);
    w += ew;
  }
  if (row.length) rows.push(row);
  return rows;
}

export function drawTitle(f: Frame, title: string, subtitle?: string): string[] {
  const room = f.width - f.left - 8;
  const out = [text(f.left, 22, clip(title, room / 8.6), { 'font-size': 15, 'font-weight': 'bold' })];
  if (subtitle) out.push(text(f.left, 40, clip(subtitle, room / 5.9), { 'font-size': 11, fill: '#555' }));
  return out;
}

/** Cut `s` to about `chars` characters with an ellipsis, so it stays inside the picture. */
export function clip(s: string, chars: number): string {
  const n = Math.floor(chars);
  return s.length <= n ? s : `${s.slice(0, Math.max(1, n - 1)).trimEnd()}…`;
}

export function drawLegend(f: Frame, legend: readonly LegendEntry[], subtitle: boolean): string[] {
  const out: string[] = [];
  let y = 34 + (subtitle ? 16 : 0) + 8;
  for (const row of legendRows(legend, f.width - 80)) {
    let x = f.left;
    for (const e of row) {
      out.push(
        e.kind === 'box'
          ? el('rect', { x, y: y - 9, width: 20, height: 10, fill: e.colour })
          : el('line', {
              x1: x,
              y1: y - 4,
              x2: x + 20,
              y2: y - 4,
              stroke: e.colour,
              'stroke-width': 2.5,
              'stroke-dasharray': e.dashed ? '6 4' : undefined,
            }),
        text(x + 26, y, e.name),
      );
      x += legendWidth(e);
    }
    y += LEGEND_ROW;
  }
  return out;
}

/** A scale for values on an axis spec, over pixel range [from, to]. */
export function scaleFor(axis: AxisSpec, values: readonly number[], range: [number, number]): Scale {
  const s = autoScale(axis, values, range);
  return axis.ticks ? withTicks(s, axis.ticks) : s;
}

function autoScale(axis: AxisSpec, values: readonly number[], range: [number, number]): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (!axis.log || v > 0));
  if (axis.log) {
    const lo = axis.min ?? (finite.length ? Math.min(...finite) : 1);
    const hi = axis.max ?? (finite.length ? Math.max(...finite) : 10);
    return logScale(lo, hi, range, axis.min !== undefined && axis.max !== undefined);
  }
  let lo = axis.min ?? (finite.length ? Math.min(...finite) : 0);
  let hi = axis.max ?? (finite.length ? Math.max(...finite) : 1);
  if (axis.min === undefined && axis.zero !== false) lo = Math.min(0, lo);
  if (axis.max === undefined && axis.zero !== false) hi = Math.max(0, hi);
  const [a, b] = niceDomain(lo, hi);
  return linearScale([axis.min ?? a, axis.max ?? b], range);
}

/** Grid lines, tick labels and the axis title of a vertical axis. */
export function drawYAxis(f: Frame, y: Scale, axis: AxisSpec, side: 'left' | 'right'): string[] {
  const out: string[] = [];
  const x = side === 'left' ? f.left : f.right;
  for (const t of y.ticks()) {
    const py = y(t);
    if (side === 'left') {
      out.push(el('line', { x1: f.left, y1: py, x2: f.right, y2: py, stroke: '#e3e3e3' }));
    }
    out.push(
      el('line', { x1: x, y1: py, x2: side === 'left' ? x - 5 : x + 5, y2: py, stroke: '#333' }),
      text(side === 'left' ? x - 8 : x + 8, py + 4, formatTick(t), {
        'text-anchor': side === 'left' ? 'end' : 'start',
      }),
    );
  }
  out.push(el('line', { x1: x, y1: f.top, x2: x, y2: f.bottom, stroke: '#333' }));
  const cx = side === 'left' ? 16 : f.width - 12;
  const cy = (f.top + f.bottom) / 2;
  out.push(
    text(cx, cy, axisTitle(axis), {
      'text-anchor': 'middle',
      transform: `rotate(${side === 'left' ? -90 : 90} ${cx} ${cy})`,
      'font-size': 13,
    }),
  );
  return out;
}

/** Ticks and title of a numeric horizontal axis. */
export function drawXAxis(f: Frame, x: Scale, axis: AxisSpec): string[] {
  const out: string[] = [];
  for (const t of x.ticks()) {
    const px = x(t);
    out.push(
      el('line', { x1: px, y1: f.top, x2: px, y2: f.bottom, stroke: '#f0f0f0' }),
      el('line', { x1: px, y1: f.bottom, x2: px, y2: f.bottom + 5, stroke: '#333' }),
      text(px, f.bottom + 18, formatTick(t), { 'text-anchor': 'middle' }),
    );
  }
  out.push(el('line', { x1: f.left, y1: f.bottom, x2: f.right, y2: f.bottom, stroke: '#333' }));
  out.push(xAxisTitle(f, axis));
  return out;
}

export function xAxisTitle(f: Frame, axis: AxisSpec): string {
  return text((f.left + f.right) / 2, f.height - 12, axisTitle(axis), {
    'text-anchor': 'middle',
    'font-size': 13,
  });
}

/** A note in the middle of an empty plot ("no redistributions in this run"). */
export function emptyNote(f: Frame, note: string): string {
  return text((f.left + f.right) / 2, (f.top + f.bottom) / 2, note, {
    'text-anchor': 'middle',
    fill: '#777',
    'font-size': 14,
  });
}
