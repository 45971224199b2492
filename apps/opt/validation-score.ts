import type { ExemplarTable } from '../../framework/datasets/types.ts';
import { columnsFromTable } from '../../framework/exemplars/rows.ts';
import { accuracy, type NetworkShape, type OptKernel, parameterCount } from './model/index.ts';

/** How one iteration's weights do on the validation rows. */
export interface ValidationScore {
  /** Mean error per row, as the training error but without weight decay: what picks the best. */
  readonly error: number;
  readonly accuracy: number;
}

/**
 * Scores weights on the held-out rows, on the coordinator: the error through the job's own
 * pass kernel (so it is the training error's exact definition), the accuracy through the
 * same kernel's prediction, as the test accuracy.
 *
 * The error, not the accuracy, chooses the weights kept: on 800 rows the accuracy moves in
 * steps of 0.125 % with a noise of about ±0.8 %, more than it changes late in a run, so
 * its maximum is a lucky early iteration (MNIST seed 1: iteration 80, 93.2 % test, against
 * 94.2 % at 150); the mean error is continuous and fell with the test error to the end.
 */
export class ValidationScorer {
  private readonly columns;
  private readonly acc: Float64Array;

  constructor(
    shape: NetworkShape,
    private readonly kernel: OptKernel,
    private readonly rows: ExemplarTable,
  ) {
    this.columns = columnsFromTable(rows.features, rows.labels, rows.dim);
    this.acc = new Float64Array(kernel.accumulatorLength(new Float64Array(parameterCount(shape)), rows.dim));
  }

  score(weights: Float64Array): ValidationScore {
    const { rows, acc } = this;
    acc.fill(0);
    this.kernel.accumulate(this.columns, 0, rows.count, weights, acc);
    const predicted = this.kernel.predict(rows.features, rows.count, rows.dim, weights);
    return { error: acc[0] / acc[1], accuracy: accuracy(predicted, rows.labels) };
  }
}
