/** The SVG chart module shared by `admove plot` and the benchmarks: pure, so tested directly. */
import { describe, expect, it } from 'vitest';
import { barChart, formatTick, lineChart } from '../../apps/plot/chart/index.ts';
import { linearScale, logScale, niceDomain } from '../../apps/plot/chart/scale.ts';
import { escapeXml } from '../../apps/plot/chart/svg.ts';

describe('scales', () => {
  it('widens a domain to whole steps and ticks on them', () => {
    expect(niceDomain(0.3, 9.2)).toEqual([0, 10]);
    const s = linearScale([0, 10], [0, 100]);
    expect(s(5)).toBe(50);
    expect(s.ticks()).toEqual([0, 2, 4, 6, 8, 10]);
  });

  it('puts log ticks on decades, or exactly on the ends asked for', () => {
    const s = logScale(0.02, 3000, [0, 600]);
    expect(s.ticks()).toEqual([0.01, 0.1, 1, 10, 100, 1000, 10000]);
    const exact = logScale(2, 32, [0, 400], true);
    expect(exact(2)).toBeCloseTo(0);
    expect(exact(32)).toBeCloseTo(400);
  });

  it('labels ticks without float noise', () => {
    expect(formatTick(0.30000000000000004)).toBe('0.3');
    expect(formatTick(25_000)).toBe('25k');
    expect(formatTick(3_000_000)).toBe('3M');
  });
});

describe('charts', () => {
  it('draws a line chart with labelled axes, units, legend and markers, escaping text', () => {
    const svg = lineChart({
      title: 'A <title> & more',
      x: { label: 'time', unit: 's' },
      y: { label: 'exemplars held', unit: 'exemplars' },
      y2: { label: 'accuracy', unit: '%' },
      series: [
        {
          name: 'h0',
          points: [
            [0, 10],
            [1, 20],
          ],
          step: true,
        },
        {
          name: 'acc',
          points: [
            [0, 50],
            [1, 90],
          ],
          right: true,
          dots: true,
        },
      ],
      markers: [{ x: 0.5, label: 'vacate h3' }],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('A &lt;title&gt; &amp; more');
    expect(svg).toContain('time (s)');
    expect(svg).toContain('exemplars held (exemplars)');
    expect(svg).toContain('accuracy (%)');
    expect(svg).toContain('vacate h3');
    expect(svg).toContain('h0 (left)');
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it('says so when there is nothing to draw', () => {
    const svg = barChart({
      title: 'none',
      categories: [],
      x: { label: 'redistribution' },
      y: { label: 'time', unit: 'ms' },
      series: [{ name: 'migration cost', values: [] }],
      emptyNote: 'no redistributions in this run',
    });
    expect(svg).toContain('no redistributions in this run');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('leaves gaps for missing bar values and labels the others', () => {
    const svg = barChart({
      title: 'bars',
      categories: ['R1', 'R2'],
      x: { label: 'redistribution' },
      y: { label: 'time', unit: 'ms' },
      series: [
        { name: 'obtrusiveness', values: [120, null] },
        { name: 'migration', values: [200, 75] },
      ],
    });
    expect(svg.match(/<rect [^>]*fill="#0072B2"/g)?.length).toBe(2); // legend box + one bar
    expect(svg).toContain('>200<');
    expect(escapeXml(`"a'`)).toBe('&quot;a&apos;');
  });
});
