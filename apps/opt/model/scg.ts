import {
  asRecord,
  axpy,
  dot,
  type Evaluate,
  evaluateChecked,
  OptimiserBase,
  readNumber,
  readVector,
  type StepResult,
} from './optimiser.ts';

/**
 * Møller's Scaled Conjugate Gradient (Neural Networks 6:525–533, 1993).
 *
 * No line search: the curvature along the direction p is estimated from one extra
 * gradient, s = (E′(w + σ_k p) − E′(w))/σ_k, and a Levenberg–Marquardt-style scale λ
 * keeps the model positive definite and is raised or lowered according to how well the
 * quadratic model predicted the error. So an iteration costs two evaluations (one after a
 * rejected step, whose curvature is reused). Variable names follow the paper's steps 1–9:
 * r = −E′(w), p the direction, δ = pᵀs + λ|p|², μ = pᵀr, α = μ/δ, Δ the comparison ratio.
 *
 * The coordinator drives it: `step(evaluate)` runs one iteration. Between steps the whole
 * state is plain numbers, so `toJSON()` / `fromJSON()` checkpoint and resume it exactly.
 */
export interface ScgOptions {
  /** σ in step 2: the finite-difference step along p is σ/|p|. Møller: 0 < σ ≤ 1e-4. */
  sigma?: number;
  /** Initial λ_1. Møller: 0 < λ_1 ≤ 1e-6. */
  lambda?: number;
  /** Restart with p = r after this many successful steps (Møller: N, the weight count). */
  restartEvery?: number;
}

const WHAT = 'ScaledConjugateGradient';

/**
 * Bounds on λ (not in the paper; Netlab's values). A long run of good steps quarters λ
 * each time and would underflow it to 0 after some 500 of them, and a run of bad steps
 * could overflow it; either breaks step 3–5 arithmetic (and a λ of 0 cannot be restored
 * by `fromJSON`, whose constructor requires λ > 0).
 */
const LAMBDA_MIN = 1e-15;
const LAMBDA_MAX = 1e100;

export class ScaledConjugateGradient extends OptimiserBase {
  private readonly r: Float64Array; // −E′(w)
  private readonly p: Float64Array; // search direction
  private readonly trial: Float64Array; // the point handed to evaluate
  private initialised = false;
  private lambda: number;
  private lambdaBar = 0;
  private delta = 0; // δ_k, already scaled by λ, kept across a rejected step
  private success = true;
  private successesSinceRestart = 0;
  private readonly sigma: number;
  private readonly restartEvery: number;

  constructor(weights: Float64Array, options: ScgOptions = {}) {
    super(weights, WHAT);
    const n = weights.length;
    this.r = new Float64Array(n);
    this.p = new Float64Array(n);
    this.trial = new Float64Array(n);
    this.sigma = options.sigma ?? 1e-4;
    this.lambda = options.lambda ?? 1e-6;
    this.restartEvery = options.restartEvery ?? n;
    if (!(this.sigma > 0) || !(this.lambda > 0) || !(this.restartEvery >= 1)) {
      throw new RangeError(`${WHAT}: sigma and lambda must be > 0 and restartEvery ≥ 1`);
    }
  }

  /** The current scale λ (large λ means SCG is taking short, gradient-descent-like steps). */
  get scale(): number {
    return this.lambda;
  }

  protected async iterate(evaluate: Evaluate): Promise<StepResult> {
    const { w, r, p, trial } = this;
    let evaluations = 0;
    if (!this.initialised) {
      // Step 1: p_1 = r_1 = −E′(w_1).
      trial.set(w);
      const first = await evaluateChecked(evaluate, trial);
      evaluations++;
      this.e = first.error;
      for (let i = 0; i < r.length; i++) r[i] = -first.gradient[i];
      p.set(r);
      this.initialised = true;
    }
    if (this.done) return { error: this.e, evaluations, moved: false };

    if (this.success) {
      // Not in the paper: if conjugacy has turned p uphill (μ ≤ 0), restart along r,
      // as Netlab's scg does; otherwise α would point the wrong way.
      if (dot(p, r) <= 0) {
        p.set(r);
        this.successesSinceRestart = 0;
      }
    }
    const pp = dot(p, p);
    if (pp === 0) {
      this.done = true; // r = 0 (step 9's stopping test)
      return { error: this.e, evaluations, moved: false };
    }

    if (this.success) {
      // Step 2: second-order information along p from one extra gradient.
      const sigmaK = this.sigma / Math.sqrt(pp);
      axpy(trial, w, sigmaK, p);
      const plus = await evaluateChecked(evaluate, trial);
      evaluations++;
      // δ = pᵀs with s = (E′(w+σp) − E′(w))/σ and E′(w) = −r.
      let ps = 0;
      for (let i = 0; i < p.length; i++) ps += p[i] * (plus.gradient[i] + r[i]);
      this.delta = ps / sigmaK;
    }
    // Step 3: scale δ. After a rejected step this adds only the increase in λ.
    let delta = this.delta + (this.lambda - this.lambdaBar) * pp;
    // Step 4: make the model positive definite.
    if (delta <= 0) {
      this.lambdaBar = 2 * (this.lambda - delta / pp);
      delta = -delta + this.lambda * pp;
      this.lambda = this.lambdaBar;
    }
    this.delta = delta;
    // Step 5: step size.
    const mu = dot(p, r);
    const alpha = mu / delta;
    // Step 6: comparison parameter Δ = 2δ(E(w) − E(w + αp))/μ².
    axpy(trial, w, alpha, p);
    const next = await evaluateChecked(evaluate, trial);
    evaluations++;
    // A non-finite error (overflow far out along p) counts as a bad prediction: reject and raise λ.
    const comparison = Number.isFinite(next.error) ? (2 * delta * (this.e - next.error)) / (mu * mu) : -1;
    this.iterations++;

    const moved = comparison >= 0;
    if (moved) {
      // Step 7: accept, and build the next conjugate direction, β = (|r′|² − r′ᵀr)/μ.
      const g = next.gradient;
      let rr = 0;
      let rrOld = 0;
      for (let i = 0; i < r.length; i++) {
        const ri = -g[i];
        rr += ri * ri;
        rrOld += ri * r[i];
      }
      this.successesSinceRestart++;
      const restart = this.successesSinceRestart >= this.restartEvery;
      const beta = restart ? 0 : (rr - rrOld) / mu;
      if (restart) this.successesSinceRestart = 0;
      for (let i = 0; i < r.length; i++) {
        r[i] = -g[i];
        p[i] = r[i] + beta * p[i];
      }
      this.w.set(trial);
      this.e = next.error;
      this.lambdaBar = 0;
      this.success = true;
      if (comparison >= 0.75) this.lambda = Math.max(0.25 * this.lambda, LAMBDA_MIN);
      if (rr === 0) this.done = true;
    } else {
      // No reduction: keep w and the curvature, remember λ so step 3 can rescale δ.
      this.lambdaBar = this.lambda;
      this.success = false;
    }
    // Step 8: the quadratic model was poor, so trust it less.
    if (comparison < 0.25) this.lambda = Math.min(this.lambda + (delta * (1 - comparison)) / pp, LAMBDA_MAX);
    return { error: this.e, evaluations, moved };
  }

  /** Plain-JSON state, valid between steps; `fromJSON` resumes bit-for-bit. */
  toJSON(): ScgState {
    this.checkIdle();
    return {
      kind: 'scg',
      weights: Array.from(this.w),
      r: Array.from(this.r),
      p: Array.from(this.p),
      error: this.initialised ? this.e : 0,
      initialised: this.initialised,
      lambda: this.lambda,
      lambdaBar: this.lambdaBar,
      delta: this.delta,
      success: this.success,
      successesSinceRestart: this.successesSinceRestart,
      iterations: this.iterations,
      done: this.done,
      sigma: this.sigma,
      restartEvery: this.restartEvery,
    };
  }

  static fromJSON(state: unknown): ScaledConjugateGradient {
    const s = asRecord(state, 'scg', WHAT);
    const weights = s['weights'];
    if (!Array.isArray(weights)) throw new TypeError(`${WHAT}: field weights must be an array`);
    const n = weights.length;
    const opt = new ScaledConjugateGradient(readVector(s, 'weights', n, WHAT), {
      sigma: readNumber(s, 'sigma', WHAT),
      restartEvery: readNumber(s, 'restartEvery', WHAT),
      lambda: readNumber(s, 'lambda', WHAT),
    });
    opt.r.set(readVector(s, 'r', n, WHAT));
    opt.p.set(readVector(s, 'p', n, WHAT));
    opt.initialised = s['initialised'] === true;
    opt.e = opt.initialised ? readNumber(s, 'error', WHAT) : Number.NaN;
    opt.lambdaBar = readNumber(s, 'lambdaBar', WHAT);
    opt.delta = readNumber(s, 'delta', WHAT);
    opt.success = s['success'] === true;
    opt.successesSinceRestart = readNumber(s, 'successesSinceRestart', WHAT);
    opt.iterations = readNumber(s, 'iterations', WHAT);
    opt.done = s['done'] === true;
    return opt;
  }
}

export interface ScgState {
  kind: 'scg';
  weights: number[];
  r: number[];
  p: number[];
  error: number;
  initialised: boolean;
  lambda: number;
  lambdaBar: number;
  delta: number;
  success: boolean;
  successesSinceRestart: number;
  iterations: number;
  done: boolean;
  sigma: number;
  restartEvery: number;
}
