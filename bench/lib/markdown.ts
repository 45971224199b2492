/** Markdown tables and number formatting for the results' .md files. */

export type Cell = string | number | null | undefined;

export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cell = (c: Cell) => (c === null || c === undefined ? '–' : typeof c === 'number' ? num(c) : c);
  const right = headers.map((_, k) => rows.some((r) => typeof r[k] === 'number'));
  const lines = [
    `| ${headers.join(' | ')} |`,
    `| ${right.map((r) => (r ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${headers.map((_, k) => cell(r[k])).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Three significant figures, no exponent for ordinary sizes, thousands separated. */
export function num(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

export function percent(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)} %`;
}

/** "met" / "not met" against a target, for the tables that state targets. */
export function verdict(value: number | null, target: number, better: 'lower' | 'higher' = 'lower'): string {
  if (value === null || !Number.isFinite(value)) return 'not measured';
  const met = better === 'lower' ? value <= target : value >= target;
  return met ? 'met' : 'not met';
}
