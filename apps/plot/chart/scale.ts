/** Axis scales: data value → pixel, with readable tick values. */

export interface Scale {
  readonly kind: 'linear' | 'log';
  readonly domain: readonly [number, number];
  (value: number): number;
  ticks(): number[];
}

/** The same scale with these tick values instead of its own. */
export function withTicks(scale: Scale, ticks: readonly number[]): Scale {
  const f = ((v: number) => scale(v)) as Scale;
  Object.assign(f, { kind: scale.kind, domain: scale.domain, ticks: () => [...ticks] });
  return f;
}

/** 1, 2, 2.5, 5 × 10^k steps giving about `count` ticks over [lo, hi]. */
export function niceStep(lo: number, hi: number, count = 5): number {
  const raw = (hi - lo) / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

/** [lo, hi] widened to whole steps (and made non-empty). */
export function niceDomain(lo: number, hi: number, count = 5): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(lo, hi, count);
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

export function linearScale(domain: [number, number], range: [number, number], count = 5): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const f = ((v: number) => r0 + ((v - d0) / (d1 - d0 || 1)) * (r1 - r0)) as Scale;
  Object.assign(f, {
    kind: 'linear',
    domain,
    ticks: () => {
      const step = niceStep(d0, d1, count);
      const out: number[] = [];
      for (let t = Math.ceil(d0 / step - 1e-9) * step; t <= d1 + step * 1e-9; t += step) {
        out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
      }
      return out;
    },
  });
  return f;
}

/**
 * Log10 scale over whole decades around [lo, hi], or exactly [lo, hi] when `exact` (values ≤ 0
 * are clamped to the bottom).
 */
export function logScale(lo: number, hi: number, range: [number, number], exact = false): Scale {
  const l0 = Math.log10(lo > 0 ? lo : 1e-3);
  const l1 = Math.log10(hi > 0 ? hi : 1);
  const a = exact ? l0 : Math.floor(l0);
  const b = exact ? Math.max(l1, a + 1e-9) : Math.max(a + 1, Math.ceil(l1));
  const [r0, r1] = range;
  const f = ((v: number) => {
    const l = v > 0 ? Math.log10(v) : a;
    return r0 + ((l - a) / (b - a)) * (r1 - r0);
  }) as Scale;
  Object.assign(f, {
    kind: 'log',
    domain: [10 ** a, 10 ** b],
    ticks: () => {
      const out: number[] = [];
      const every = Math.max(1, Math.ceil((b - a) / 8));
      for (let e = Math.ceil(a - 1e-9); e <= b + 1e-9; e += every) out.push(10 ** e);
      return out;
    },
  });
  return f;
}

/** A tick label: short, no float noise (0.30000000000000004 → 0.3), thousands as k/M. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a < 1e-3) return v.toExponential(0);
  return trim(v);
}

function trim(v: number): string {
  return String(Number.parseFloat(v.toPrecision(4)));
}
