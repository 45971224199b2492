import {
  asRecord,
  dot,
  type Evaluate,
  evaluateChecked,
  OptimiserBase,
  readNumber,
  readVector,
  type StepResult,
} from './optimiser.ts';

/**
 * Polak–Ribière conjugate gradient with restarts and a line search — the mode closest to
 * the original Opt (Barnard & Cole 1989). Each iteration searches along d for a step
 * satisfying the strong Wolfe conditions (Nocedal & Wright, Alg. 3.5/3.6, cubic
 * interpolation), each trial point costing one data pass, then sets d = −g + βd with
 * β = max(0, gᵀ(g − g_old)/|g_old|²) (PR+). It restarts along −g every n iterations, when β
 * would be negative, when successive gradients are far from orthogonal (Powell's test), or
 * when d is not a descent direction.
 *
 * The first trial step of a search is the previous decrease repeated (Nocedal & Wright
 * eq. 3.60), or a move of unit length at the start. A search that finds no decrease leaves
 * the weights alone, restarts along −g and begins the next search at a tenth of the
 * shortest step it tried; it stops (`converged`) when that happens along −g with steps
 * already below rounding relative to the weights.
 */
export interface PrcgOptions {
  /** Sufficient-decrease constant (Armijo). */
  c1?: number;
  /** Curvature constant; below 0.5 keeps PR directions descent directions. */
  c2?: number;
  /** Trial points per line search at most. */
  maxEvaluations?: number;
  /** Restart along −g after this many iterations (default: the weight count). */
  restartEvery?: number;
}

const WHAT = 'PolakRibiere';

interface Trial {
  alpha: number;
  error: number;
  slope: number;
  gradient: Float64Array;
}

export class PolakRibiere extends OptimiserBase {
  private g: Float64Array;
  private d: Float64Array;
  private ePrevious = Number.NaN;
  /** First trial step of the next search after a failed one (0: use the usual guess). */
  private alphaNext = 0;
  private initialised = false;
  private sinceRestart = 0;
  private readonly c1: number;
  private readonly c2: number;
  private readonly maxEvaluations: number;
  private readonly restartEvery: number;

  constructor(weights: Float64Array, options: PrcgOptions = {}) {
    super(weights, WHAT);
    const n = weights.length;
    this.g = new Float64Array(n);
    this.d = new Float64Array(n);
    this.c1 = options.c1 ?? 1e-4;
    this.c2 = options.c2 ?? 0.1;
    this.maxEvaluations = options.maxEvaluations ?? 12;
    this.restartEvery = options.restartEvery ?? n;
    if (
      !(this.c1 > 0 && this.c1 < this.c2 && this.c2 < 1) ||
      !(this.maxEvaluations >= 2) ||
      !(this.restartEvery >= 1)
    ) {
      throw new RangeError(`${WHAT}: need 0 < c1 < c2 < 1, maxEvaluations ≥ 2 and restartEvery ≥ 1`);
    }
  }

  protected async iterate(evaluate: Evaluate): Promise<StepResult> {
    let evaluations = 0;
    let shortest = Number.POSITIVE_INFINITY; // the shortest step tried in this search
    const at = async (alpha: number): Promise<Trial> => {
      if (alpha < shortest) shortest = alpha;
      const point = new Float64Array(this.w.length);
      for (let i = 0; i < point.length; i++) point[i] = this.w[i] + alpha * this.d[i];
      const r = await evaluateChecked(evaluate, point);
      evaluations++;
      return {
        alpha,
        error: r.error,
        slope: dot(r.gradient, this.d),
        gradient: Float64Array.from(r.gradient),
      };
    };
    if (!this.initialised) {
      const first = await evaluateChecked(evaluate, this.w);
      evaluations++;
      this.e = first.error;
      this.g.set(first.gradient);
      for (let i = 0; i < this.d.length; i++) this.d[i] = -this.g[i];
      this.initialised = true;
    }
    if (this.done) return { error: this.e, evaluations, moved: false };
    let slope0 = dot(this.g, this.d);
    if (!(slope0 < 0)) {
      this.restart();
      slope0 = dot(this.g, this.d);
      if (!(slope0 < 0)) {
        this.done = true; // zero gradient
        return { error: this.e, evaluations, moved: false };
      }
    }
    const found = await this.lineSearch(at, slope0);
    this.iterations++;
    if (found === null) {
      // No decrease along d. Restart along −g, starting shorter than any step tried here;
      // stop if d already was −g and those steps were lost in the weights' rounding.
      const steepest = this.sinceRestart === 0;
      const length = shortest * Math.sqrt(dot(this.d, this.d));
      this.restart();
      if (steepest && !(length > 1e-12 * (1 + Math.sqrt(dot(this.w, this.w))))) {
        this.done = true;
        this.alphaNext = 0;
      } else {
        this.alphaNext = (0.1 * length) / Math.sqrt(dot(this.d, this.d));
        if (!(this.alphaNext > 0 && Number.isFinite(this.alphaNext))) this.done = true;
      }
      return { error: this.e, evaluations, moved: false };
    }
    this.alphaNext = 0;
    const gOld = this.g;
    const gNew = found.gradient;
    const oldNorm = dot(gOld, gOld);
    let beta = oldNorm > 0 ? (dot(gNew, gNew) - dot(gNew, gOld)) / oldNorm : 0;
    this.sinceRestart++;
    const powell = Math.abs(dot(gNew, gOld)) >= 0.2 * dot(gNew, gNew);
    if (!(beta > 0) || powell || this.sinceRestart >= this.restartEvery) {
      beta = 0;
      this.sinceRestart = 0;
    }
    for (let i = 0; i < this.w.length; i++) {
      this.w[i] += found.alpha * this.d[i];
      this.d[i] = -gNew[i] + beta * this.d[i];
    }
    this.g = gNew;
    this.ePrevious = this.e;
    this.e = found.error;
    return { error: this.e, evaluations, moved: true };
  }

  private restart(): void {
    for (let i = 0; i < this.d.length; i++) this.d[i] = -this.g[i];
    this.sinceRestart = 0;
  }

  /** A step along d meeting the strong Wolfe conditions, or the best decrease seen, or null. */
  private async lineSearch(at: (alpha: number) => Promise<Trial>, slope0: number): Promise<Trial | null> {
    const e0 = this.e;
    const { c1, c2 } = this;
    // Initial step: after a failed search, shorter than anything it tried; else the previous
    // decrease repeated (N&W 3.60, without their cap at 1, which suits Newton-scaled
    // directions, not CG ones); else a move of unit length.
    let alpha =
      this.alphaNext > 0
        ? this.alphaNext
        : Number.isFinite(this.ePrevious)
          ? (1.01 * 2 * (this.e - this.ePrevious)) / slope0
          : 1 / Math.sqrt(dot(this.d, this.d));
    if (!(alpha > 0) || !Number.isFinite(alpha)) alpha = 1 / Math.sqrt(dot(this.d, this.d));
    let previous: Trial = { alpha: 0, error: e0, slope: slope0, gradient: this.g };
    let best: Trial | null = null;
    const keep = (t: Trial) => {
      if (Number.isFinite(t.error) && t.error < e0 && (best === null || t.error < best.error)) best = t;
    };
    const armijo = (t: Trial) => Number.isFinite(t.error) && t.error <= e0 + c1 * t.alpha * slope0;
    const curvature = (t: Trial) => Math.abs(t.slope) <= -c2 * slope0;
    let evaluations = 0;
    const zoom = async (lo: Trial, hi: Trial): Promise<Trial | null> => {
      while (evaluations < this.maxEvaluations) {
        const a = interpolate(lo, hi);
        const t = await at(a);
        evaluations++;
        keep(t);
        if (!armijo(t) || t.error >= lo.error) {
          hi = t;
        } else {
          if (curvature(t)) return t;
          if (t.slope * (hi.alpha - lo.alpha) >= 0) hi = lo;
          lo = t;
        }
      }
      return best;
    };
    for (let i = 0; evaluations < this.maxEvaluations; i++) {
      const t = await at(alpha);
      evaluations++;
      keep(t);
      if (!armijo(t) || (i > 0 && t.error >= previous.error)) return zoom(previous, t);
      if (curvature(t)) return t;
      if (t.slope >= 0) return zoom(t, previous);
      previous = t;
      alpha *= 3;
    }
    return best;
  }

  toJSON(): PrcgState {
    this.checkIdle();
    return {
      kind: 'prcg',
      weights: Array.from(this.w),
      g: Array.from(this.g),
      d: Array.from(this.d),
      error: this.initialised ? this.e : 0,
      errorPrevious: Number.isFinite(this.ePrevious) ? this.ePrevious : null,
      alphaNext: this.alphaNext,
      initialised: this.initialised,
      iterations: this.iterations,
      sinceRestart: this.sinceRestart,
      done: this.done,
      c1: this.c1,
      c2: this.c2,
      maxEvaluations: this.maxEvaluations,
      restartEvery: this.restartEvery,
    };
  }

  static fromJSON(state: unknown): PolakRibiere {
    const s = asRecord(state, 'prcg', WHAT);
    const weights = s.weights;
    if (!Array.isArray(weights)) throw new TypeError(`${WHAT}: field weights must be an array`);
    const n = weights.length;
    const opt = new PolakRibiere(readVector(s, 'weights', n, WHAT), {
      c1: readNumber(s, 'c1', WHAT),
      c2: readNumber(s, 'c2', WHAT),
      maxEvaluations: readNumber(s, 'maxEvaluations', WHAT),
      restartEvery: readNumber(s, 'restartEvery', WHAT),
    });
    opt.g.set(readVector(s, 'g', n, WHAT));
    opt.d.set(readVector(s, 'd', n, WHAT));
    opt.initialised = s.initialised === true;
    opt.e = opt.initialised ? readNumber(s, 'error', WHAT) : Number.NaN;
    opt.ePrevious = s.errorPrevious === null ? Number.NaN : readNumber(s, 'errorPrevious', WHAT);
    opt.alphaNext = readNumber(s, 'alphaNext', WHAT);
    opt.iterations = readNumber(s, 'iterations', WHAT);
    opt.sinceRestart = readNumber(s, 'sinceRestart', WHAT);
    opt.done = s.done === true;
    return opt;
  }
}

/** Minimiser of the cubic through two trial points, kept inside the middle of their interval. */
function interpolate(lo: Trial, hi: Trial): number {
  const a = lo.alpha;
  const b = hi.alpha;
  const left = Math.min(a, b);
  const width = Math.abs(b - a);
  let x = Number.NaN;
  if (Number.isFinite(hi.error)) {
    const d1 = lo.slope + hi.slope - (3 * (lo.error - hi.error)) / (a - b);
    const root = d1 * d1 - lo.slope * hi.slope;
    if (root >= 0) {
      const d2 = Math.sign(b - a) * Math.sqrt(root);
      x = b - (b - a) * ((hi.slope + d2 - d1) / (hi.slope - lo.slope + 2 * d2));
    }
  }
  const margin = 0.1 * width;
  if (!Number.isFinite(x) || x < left + margin || x > left + width - margin) x = left + width / 2;
  return x;
}

export interface PrcgState {
  kind: 'prcg';
  weights: number[];
  g: number[];
  d: number[];
  error: number;
  errorPrevious: number | null;
  alphaNext: number;
  initialised: boolean;
  iterations: number;
  sinceRestart: number;
  done: boolean;
  c1: number;
  c2: number;
  maxEvaluations: number;
  restartEvery: number;
}
