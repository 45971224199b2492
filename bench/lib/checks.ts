/**
 * Validity of a result. Two kinds:
 * - a *bound*: a time divided by a physical lower bound measured on the same bytes (for a
 *   move between threads, posting them to a thread; between agents, one raw send) or by an
 *   oracle computed on the same emulated machine cannot be below 1; below 0.95 (noise allowed
 *   for) the benchmark measured the wrong thing. A full run with one fails (exit 1). Quick
 *   runs are too small and short to hold a ratio to: there it is reported, not enforced.
 * - a *condition*: what was measured is what the benchmark says it measures (the bytes moved
 *   are the bytes the vacated worker held, the move crossed the shaped link, the kernels agree).
 *   A run with one failing, quick or full, fails: `npm test` runs every quick mode, so a
 *   benchmark that stops measuring its subject breaks the tests.
 * - a *timing* condition: the same, but it depends on when things happened on a shared
 *   machine (the vacate landed mid-pass, no rebalance ran first). A full run with one failing
 *   fails; a quick run notes it (a loaded machine fails it now and then at tiny sizes).
 */

/** Below this, a ratio to a lower bound is a bug in the benchmark, not a result. */
export const MIN_VALID_RATIO = 0.95;

export interface BoundCheck {
  /** Which figure (the summary field it guards). */
  readonly name: string;
  /** The figure ÷ its lower bound (null: not measured). */
  readonly ratio: number | null;
  readonly valid: boolean;
  readonly kind: 'bound' | 'condition' | 'timing';
  /** Why it is invalid (absent when valid). */
  readonly cause?: string;
}

export function boundCheck(name: string, ratio: number | null, likelyCause: string): BoundCheck {
  if (ratio === null || ratio >= MIN_VALID_RATIO) return { name, ratio, valid: true, kind: 'bound' };
  return { name, ratio, valid: false, kind: 'bound', cause: likelyCause };
}

/** A check that is not a ratio (e.g. bytes moved ≠ bytes the vacated worker held). */
export function conditionCheck(name: string, ok: boolean, cause: string): BoundCheck {
  return ok
    ? { name, ratio: null, valid: true, kind: 'condition' }
    : { name, ratio: null, valid: false, kind: 'condition', cause };
}

/** A condition that depends on timing on a shared machine (e.g. the vacate landed mid-pass). */
export function timingCheck(name: string, ok: boolean, cause: string): BoundCheck {
  return { ...conditionCheck(name, ok, cause), kind: 'timing' };
}

/** Markdown lines for the invalid checks (empty when all are valid). */
export function invalidNotes(checks: readonly BoundCheck[]): string {
  const bad = checks.filter((c) => !c.valid);
  if (bad.length === 0) return '';
  return [
    '',
    '**Invalid results** (a ratio to a lower bound below 0.95, or a failed condition, is a bug in the measurement, not a result):',
    '',
    ...bad.map((c) => `- \`${c.name}\`${c.ratio === null ? '' : ` = ${c.ratio.toPrecision(3)}`}: ${c.cause}`),
    '',
  ].join('\n');
}
