/**
 * Validity of a result against its lower bound. A time divided by a physical lower bound
 * (a warm copy of the same bytes) or by an oracle computed on the same emulated machine
 * cannot be below 1; below 0.95 (noise allowed for) the benchmark measured the wrong thing,
 * and the figure is marked invalid with the likely cause instead of being reported.
 */

/** Below this, a ratio to a lower bound is a bug in the benchmark, not a result. */
export const MIN_VALID_RATIO = 0.95;

export interface BoundCheck {
  /** Which figure (the summary field it guards). */
  readonly name: string;
  /** The figure ÷ its lower bound (null: not measured). */
  readonly ratio: number | null;
  readonly valid: boolean;
  /** Why it is invalid (absent when valid). */
  readonly cause?: string;
}

export function boundCheck(name: string, ratio: number | null, likelyCause: string): BoundCheck {
  if (ratio === null || ratio >= MIN_VALID_RATIO) return { name, ratio, valid: true };
  return { name, ratio, valid: false, cause: likelyCause };
}

/** A check that is not a ratio (e.g. bytes moved ≠ bytes the vacated worker held). */
export function conditionCheck(name: string, ok: boolean, cause: string): BoundCheck {
  return ok ? { name, ratio: null, valid: true } : { name, ratio: null, valid: false, cause };
}

/** Markdown lines for the invalid checks (empty when all are valid). */
export function invalidNotes(checks: readonly BoundCheck[]): string {
  const bad = checks.filter((c) => !c.valid);
  if (bad.length === 0) return '';
  return [
    '',
    '**Invalid results** (a ratio to a lower bound below 0.95 is a bug in the measurement, not a result):',
    '',
    ...bad.map((c) => `- \`${c.name}\`${c.ratio === null ? '' : ` = ${c.ratio.toPrecision(3)}`}: ${c.cause}`),
    '',
  ].join('\n');
}
