import type { ValidationScore } from './validation-score.ts';

/**
 * The best iteration so far on the validation rows, as saved in checkpoints: which
 * iteration, its validation error and accuracy, its weights, and the patience counter.
 */
export interface BestState {
  readonly iteration: number;
  readonly validationError: number;
  readonly validationAccuracy: number;
  readonly weights: readonly number[];
  /** Iterations since `iteration` that did not beat it: what `--patience` is compared with. */
  readonly sinceBest: number;
}

/**
 * Keeps the weights of the iteration with the lowest validation error (validation-score.ts
 * says why the error and not the accuracy). Only a strictly lower error replaces them: on a
 * tie the earlier weights stay and the patience counter keeps counting, so a plateau ends a
 * run instead of renewing it. The first iteration scored is always the best so far.
 */
export class BestWeights {
  private best: { iteration: number; score: ValidationScore; weights: Float64Array } | null;
  private since: number;

  /** Fresh, or continuing from a checkpoint's state. */
  constructor(state: BestState | null = null) {
    this.best = state
      ? {
          iteration: state.iteration,
          score: { error: state.validationError, accuracy: state.validationAccuracy },
          weights: Float64Array.from(state.weights),
        }
      : null;
    this.since = state?.sinceBest ?? 0;
  }

  /** Scores iteration `iteration`, whose weights are `weights`; true if it is the new best. */
  observe(iteration: number, score: ValidationScore, weights: Float64Array): boolean {
    if (this.best === null || score.error < this.best.score.error) {
      this.best = { iteration, score, weights: Float64Array.from(weights) };
      this.since = 0;
      return true;
    }
    this.since++;
    return false;
  }

  /** The patience counter: iterations scored since the best one. */
  get sinceBest(): number {
    return this.since;
  }

  get iteration(): number | null {
    return this.best?.iteration ?? null;
  }

  get score(): ValidationScore | null {
    return this.best?.score ?? null;
  }

  /** The best weights (a copy held here: later steps do not change them). */
  get weights(): Float64Array | null {
    return this.best?.weights ?? null;
  }

  toJSON(): BestState | null {
    const b = this.best;
    if (b === null) return null;
    return {
      iteration: b.iteration,
      validationError: b.score.error,
      validationAccuracy: b.score.accuracy,
      weights: [...b.weights],
      sinceBest: this.since,
    };
  }
}
