/** Hand-written SVG charts, shared by `admove plot` and the benchmarks. No dependencies. */
export { type BarChartSpec, type BarSeries, barChart } from './bar-chart.ts';
export type { AxisSpec } from './frame.ts';
export { type LineChartSpec, type LineSeries, lineChart, type Marker } from './line-chart.ts';
export { formatTick } from './scale.ts';
export { colour, PALETTE } from './svg.ts';
