/**
 * What the conjugate-gradient optimisers (scg.ts, prcg.ts) share: the shape of the
 * coordinator's evaluation callback, of a step's result, and small vector helpers.
 */

/**
 * One full pass over the data at `weights`: the MEAN error and MEAN gradient (the caller
 * divides the summed accumulator by its count). `weights` belongs to the optimiser: read
 * it (or copy it) before the promise settles and do not change it. The returned gradient
 * is copied at once, so the evaluator may reuse its buffer.
 */
export type Evaluate = (weights: Float64Array) => Promise<{ error: number; gradient: Float64Array }>;

export interface StepResult {
  /** Mean error at the weights held after the step. */
  error: number;
  /** How many times `evaluate` was called during this step. */
  evaluations: number;
  /** Whether the weights moved (SCG rejects a step when its quadratic model was wrong). */
  moved: boolean;
}

/** A driver-shaped optimiser: the coordinator calls `step` until it is satisfied. */
export interface Optimiser {
  step(evaluate: Evaluate): Promise<StepResult>;
  readonly weights: Float64Array;
  readonly error: number;
  readonly converged: boolean;
  toJSON(): unknown;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** out = a + t·b */
export function axpy(out: Float64Array, a: Float64Array, t: number, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) out[i] = a[i] + t * b[i];
}

/** Run `evaluate` and check the gradient's length, so a wrong evaluator fails loudly. */
export async function evaluateChecked(
  evaluate: Evaluate,
  weights: Float64Array,
): Promise<{ error: number; gradient: Float64Array }> {
  const result = await evaluate(weights);
  if (result.gradient.length !== weights.length) {
    throw new RangeError(
      `evaluate returned ${result.gradient.length} gradient entries for ${weights.length} weights`,
    );
  }
  return result;
}

/**
 * What both conjugate-gradient optimisers share: the accepted weights and error, the
 * iteration count, convergence, and the guard that keeps two steps from interleaving.
 * A subclass implements one iteration (`iterate`) and its own `toJSON`.
 */
export abstract class OptimiserBase implements Optimiser {
  protected w: Float64Array;
  /** Mean error at `w`; NaN until the first evaluation. */
  protected e = Number.NaN;
  protected iterations = 0;
  protected done = false;
  private busy = false;

  protected constructor(
    weights: Float64Array,
    private readonly what: string,
  ) {
    this.w = Float64Array.from(weights);
  }

  /** A copy of the current (accepted) weights. */
  get weights(): Float64Array {
    return Float64Array.from(this.w);
  }

  /** Mean error at the current weights (NaN before the first step). */
  get error(): number {
    return this.e;
  }

  get converged(): boolean {
    return this.done;
  }

  get iteration(): number {
    return this.iterations;
  }

  async step(evaluate: Evaluate): Promise<StepResult> {
    this.checkIdle();
    this.busy = true;
    try {
      return await this.iterate(evaluate);
    } finally {
      this.busy = false;
    }
  }

  /** Stepping twice at once would interleave two iterations' state; so would saving mid-step. */
  protected checkIdle(): void {
    if (this.busy) throw new Error(`${this.what}: step() or toJSON() called while a step is still running`);
  }

  protected abstract iterate(evaluate: Evaluate): Promise<StepResult>;

  abstract toJSON(): unknown;
}

// JSON helpers: float64 numbers round-trip exactly through JSON (shortest round-trip
// printing), but NaN and ±Infinity do not, so states keep only finite numbers.

export function readNumber(record: Record<string, unknown>, field: string, what: string): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${what}: field ${field} must be a finite number, got ${String(value)}`);
  }
  return value;
}

export function readVector(
  record: Record<string, unknown>,
  field: string,
  length: number,
  what: string,
): Float64Array {
  const value = record[field];
  if (!Array.isArray(value) || value.length !== length || !value.every((v) => typeof v === 'number')) {
    throw new TypeError(`${what}: field ${field} must be an array of ${length} numbers`);
  }
  return Float64Array.from(value as number[]);
}

export function asRecord(value: unknown, kind: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || (value as Record<string, unknown>)['kind'] !== kind) {
    throw new TypeError(`${what}: expected a saved state with kind '${kind}'`);
  }
  return value as Record<string, unknown>;
}
