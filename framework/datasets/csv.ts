import { UserError } from '../errors.ts';
import { ClassNames } from './class-names.ts';
import { type ColumnPlan, type ColumnRef, planColumns } from './csv-columns.ts';
import { CsvCursor } from './csv-cursor.ts';
import { parseDecimal } from './parse-number.ts';
import { readDataFile } from './read-file.ts';
import { checkSplitSpec, planFromFlags, planSplit, type SplitPlan, type SplitSpec } from './split.ts';
import { checkCsvText } from './text-encoding.ts';
import type { CsvLayout, Dataset, ExemplarTable } from './types.ts';

export interface CsvOptions {
  /**
   * The class column, by header name or 0-based index. Default: the first header name equal to
   * `label` or `class` (ignoring case); otherwise, or without a header, the last column.
   * A string of digits that is not a header name is taken as an index.
   */
  readonly labelColumn?: ColumnRef;
  /** Whether the first line names the columns (default true). Without one, use indices. */
  readonly header?: boolean;
  /** Columns that are neither features nor the label (e.g. an id). */
  readonly ignoreColumns?: readonly ColumnRef[];
  readonly split: SplitSpec;
  /** Refuse, before reading, a file larger than this many bytes (the `--max-memory` budget). */
  readonly maxBytes?: number;
  /** One ASCII character (default `,`); use `\t` for tab-separated files. */
  readonly delimiter?: string;
  /**
   * More distinct labels than this (default 1000) means the label column is probably a
   * feature; loading stops with an error instead of building thousands of classes.
   */
  readonly maxClasses?: number;
}

/** Largest finite float32; features are stored as float32. */
const FLOAT32_MAX = 3.4028234663852886e38;
const DEFAULT_MAX_CLASSES = 1000;

/**
 * Loads a labelled CSV file: every column but the label, split and ignored ones is a numeric
 * feature; labels may be numbers or names and become class indices (see ClassNames for the
 * order). Fields are trimmed; blank lines are skipped; `\r\n` endings and a UTF-8 BOM are fine.
 * The file is read whole (after the `maxBytes` check) and parsed from bytes straight into the
 * train and test arrays — no string or object per field — so files of hundreds of MB load in
 * seconds. Every problem with the file or options is a one-line UserError naming file and line.
 */
export async function loadCsvDataset(path: string, options: CsvOptions): Promise<Dataset> {
  checkSplitSpec(options.split);
  const delimiter = delimiterByte(options.delimiter ?? ',');
  const bytes = await readDataFile(path, options.maxBytes);
  checkCsvText(bytes, path);
  return parseCsv(bytes, path, options, delimiter);
}

function parseCsv(bytes: Buffer, path: string, options: CsvOptions, delimiter: number): Dataset {
  const cursor = new CsvCursor(bytes, path, delimiter);
  const header = options.header ?? true;
  if (!cursor.nextLine()) {
    throw new UserError(`${path}: the file is empty; expected a CSV file with one exemplar per line`);
  }
  const firstLine = cursor.lineNumber;
  const columnCount = cursor.split();
  cursor.reserve(columnCount);
  cursor.split();
  const names = header ? Array.from({ length: columnCount }, (_, k) => cursor.text(k)) : null;
  if (names?.every(isNumber)) {
    throw new UserError(
      `${path}:${firstLine}: the first line is all numbers, so it looks like data, not a header; add --no-header (columns are then named by 0-based index)`,
    );
  }
  const split = options.split;
  const columns = planColumns({
    path,
    line: firstLine,
    names,
    columnCount,
    labelColumn: options.labelColumn,
    ignoreColumns: options.ignoreColumns,
    splitColumn: split.kind === 'column' ? split.column : undefined,
  });

  let rowCount = header ? -1 : 0;
  cursor.rewind();
  while (cursor.nextLine()) rowCount++;
  if (rowCount === 0) {
    throw new UserError(
      `${path}: the file has a header line but no data rows; add exemplars below the header`,
    );
  }
  const plan =
    split.kind === 'column'
      ? planFromFlags(
          path,
          readSplitColumn(cursor, columns, header, rowCount),
          `split ${columns.describe(columns.splitColumn)}`,
        )
      : planSplit(path, split, rowCount);
  const data = readRows(cursor, columns, plan, header, options.maxClasses ?? DEFAULT_MAX_CLASSES);
  return { ...data, layout: layoutOf(columns, names) };
}

/** A label column and ignored columns; null and undefined: none chosen (the defaults apply). */
interface ColumnsChosen {
  readonly labelColumn: ColumnRef | null;
  readonly ignoreColumns: readonly ColumnRef[] | undefined;
}

const NO_COLUMNS: ColumnsChosen = { labelColumn: null, ignoreColumns: undefined };

/** The label and ignored columns: the user's where given, else the training file's (below). */
function columnsAskedFor(
  path: string,
  options: UnsplitCsvOptions,
  names: readonly string[] | null,
  columnCount: number,
): ColumnsChosen {
  const fromTraining =
    options.training === undefined ||
    (options.labelColumn !== undefined && options.ignoreColumns !== undefined)
      ? NO_COLUMNS
      : trainingColumns(path, options.training, names, columnCount);
  return {
    labelColumn: options.labelColumn !== undefined ? options.labelColumn : fromTraining.labelColumn,
    ignoreColumns: options.ignoreColumns ?? fromTraining.ignoreColumns,
  };
}

/**
 * The training file's label and ignored columns that this file has. A layout read with a
 * header applies to a file read with one (columns by name); one read without, to any file
 * (columns by index, whether or not this one names them): as wide as the training file, or
 * one column narrower without the label, whose later columns then sit one to the left.
 */
function trainingColumns(
  path: string,
  training: CsvLayout,
  names: readonly string[] | null,
  columnCount: number,
): ColumnsChosen {
  if (training.header) {
    if (names === null) return NO_COLUMNS;
    const has = (ref: ColumnRef) =>
      typeof ref === 'string' && names.some((n) => n.trim().toLowerCase() === ref.trim().toLowerCase());
    return {
      labelColumn: has(training.labelColumn) ? training.labelColumn : null,
      ignoreColumns: training.ignoreColumns.filter(has),
    };
  }
  const label = Number(training.labelColumn);
  const wide = columnCount === training.columnCount;
  if (!wide && columnCount !== training.columnCount - 1) {
    throw new UserError(
      `${path}: ${columnCount} columns, but the model's training file had ${training.columnCount} (${training.columnCount - 1} without its label); give --label-column and --ignore-columns for this file`,
    );
  }
  // Without the label column, the columns after it are one to the left.
  const shifted = (c: number) => (wide || c < label ? c : c - 1);
  return {
    labelColumn: wide ? label : null,
    ignoreColumns: training.ignoreColumns.map((c) => shifted(Number(c))),
  };
}

/** The columns as read, by name where there is a header. */
function layoutOf(columns: ColumnPlan, names: readonly string[] | null): CsvLayout {
  const ref = (c: number): string | number => (names ? names[c] : c);
  const features = new Set(columns.featureColumns);
  const ignoreColumns: (string | number)[] = [];
  for (let c = 0; c < columns.columnCount; c++) {
    if (c !== columns.labelColumn && !features.has(c)) ignoreColumns.push(ref(c));
  }
  return {
    header: names !== null,
    columnCount: columns.columnCount,
    labelColumn: ref(columns.labelColumn),
    ignoreColumns,
  };
}

/** First pass for a column split: the 0/1 flag of every row. */
function readSplitColumn(
  cursor: CsvCursor,
  columns: ColumnPlan,
  header: boolean,
  rowCount: number,
): Uint8Array {
  const isTest = new Uint8Array(rowCount);
  const column = columns.splitColumn;
  cursor.rewind();
  if (header) cursor.nextLine();
  for (let row = 0; cursor.nextLine(); row++) {
    checkWidth(cursor, columns);
    const value = parseDecimal(cursor.bytes, cursor.fieldStart[column], cursor.fieldEnd[column]);
    if (value !== 0 && value !== 1) {
      throw cursor.error(
        `${columns.describe(column)}: split value ${quote(cursor.text(column))} must be 0 (train) or 1 (test); fix the row or choose another --split-column`,
      );
    }
    isTest[row] = value;
  }
  return isTest;
}

/** Main pass: features and labels of every row, written straight into place. */
function readRows(
  cursor: CsvCursor,
  columns: ColumnPlan,
  plan: SplitPlan,
  header: boolean,
  maxClasses: number,
): Dataset {
  const dim = columns.featureColumns.length;
  const train = emptyTable(plan.trainCount, dim);
  const test = emptyTable(plan.testCount, dim);
  const classes = new ClassNames();
  const { featureColumns, labelColumn } = columns;
  const bytes = cursor.bytes;
  const starts = cursor.fieldStart;
  const ends = cursor.fieldEnd;
  const quoting = cursor.fieldQuoting;

  cursor.rewind();
  if (header) cursor.nextLine();
  for (let row = 0; cursor.nextLine(); row++) {
    checkWidth(cursor, columns);
    const table = plan.isTest[row] ? test : train;
    const slot = plan.slot[row];
    const features = table.features;
    const offset = slot * dim;
    for (let k = 0; k < dim; k++) {
      const c = featureColumns[k];
      const value = quoting[c] === 2 ? Number.NaN : parseDecimal(bytes, starts[c], ends[c]);
      if (!(value <= FLOAT32_MAX && value >= -FLOAT32_MAX)) throw badNumber(cursor, columns, c);
      features[offset + k] = value;
    }
    const label = cursor.text(labelColumn);
    if (label === '') {
      throw cursor.error(
        `label ${columns.describe(labelColumn)} is empty; give every row a class, or choose the class column with --label-column NAME|INDEX`,
      );
    }
    table.labels[slot] = classes.add(label);
    if (classes.size > maxClasses) {
      throw cursor.error(
        `label ${columns.describe(labelColumn)} has more than ${maxClasses} distinct values, so it looks like a feature rather than a class; choose the class column with --label-column NAME|INDEX`,
      );
    }
  }
  if (classes.size < 2) {
    throw new UserError(
      `${cursor.path}: label ${columns.describe(labelColumn)} has only one class (${quote(classes.first() ?? '')}); a classifier needs at least two — check --label-column NAME|INDEX`,
    );
  }
  const classNames = classes.finish([train.labels, test.labels]);
  return { source: cursor.path, dim, classes: classNames, train, test };
}

function checkWidth(cursor: CsvCursor, columns: ColumnPlan): void {
  const found = cursor.split();
  if (found !== columns.columnCount) {
    throw cursor.error(
      `expected ${columns.columnCount} fields, found ${found}; every row needs as many fields as the first line (check for a missing or extra delimiter)`,
    );
  }
}

function badNumber(cursor: CsvCursor, columns: ColumnPlan, column: number): UserError {
  const text = cursor.text(column);
  const where = columns.describe(column);
  const fix = 'fix the value or leave the column out with --ignore-columns';
  if (text === '') return cursor.error(`${where} is empty; every feature needs a number — ${fix}`);
  if (/^[+-]?(nan|inf|infinity)$/i.test(text)) {
    return cursor.error(`${where}: ${quote(text)} is not a finite number; ${fix}`);
  }
  const bytes = Buffer.from(text, 'utf8');
  if (!Number.isNaN(parseDecimal(bytes, 0, bytes.length))) {
    return cursor.error(
      `${where}: ${quote(text)} is outside the float32 range (±3.4e38); rescale the column or ${fix}`,
    );
  }
  return cursor.error(
    `${where}: ${quote(text)} is not a number; ${fix} (if the column holds the classes, name it with --label-column)`,
  );
}

function emptyTable(count: number, dim: number): ExemplarTable {
  return { count, dim, features: new Float32Array(count * dim), labels: new Int32Array(count) };
}

function delimiterByte(delimiter: string): number {
  const code = delimiter.length === 1 ? delimiter.charCodeAt(0) : -1;
  if (code < 1 || code > 127 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new UserError(
      `delimiter ${quote(delimiter)} must be one ASCII character other than a quote or line break, e.g. "," or "\\t"`,
    );
  }
  return code;
}

/** JSON-quoted and shortened, so a message stays on one line. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export interface UnsplitCsvOptions {
  /**
   * The class column if the file has one, else null (rows to classify). Not given: the
   * training file's (`training`) if this file has it, else none.
   */
  readonly labelColumn?: ColumnRef | null;
  /**
   * How the training file was read (a model's): the defaults for `labelColumn` and
   * `ignoreColumns`, each taken only if this file has it (`trainingColumns` says how).
   */
  readonly training?: CsvLayout;
  readonly header?: boolean;
  readonly ignoreColumns?: readonly ColumnRef[];
  readonly maxBytes?: number;
}

/** Rows of features in file order, with their label text when the file has a class column. */
export interface UnsplitRows {
  readonly count: number;
  readonly dim: number;
  readonly features: Float32Array;
  readonly labels: string[] | null;
}

/** Loads every row of a CSV file as it is (no split), e.g. for `admove predict`. */
export async function loadUnsplitCsv(path: string, options: UnsplitCsvOptions): Promise<UnsplitRows> {
  const bytes = await readDataFile(path, options.maxBytes);
  checkCsvText(bytes, path);
  const cursor = new CsvCursor(bytes, path, delimiterByte(','));
  const header = options.header ?? true;
  if (!cursor.nextLine()) throw new UserError(`${path}: the file is empty; expected one exemplar per line`);
  const line = cursor.lineNumber;
  const columnCount = cursor.split();
  cursor.reserve(columnCount);
  cursor.split();
  const names = header ? Array.from({ length: columnCount }, (_, k) => cursor.text(k)) : null;
  const { labelColumn, ignoreColumns } = columnsAskedFor(path, options, names, columnCount);
  const columns = planColumns({
    path,
    line,
    names,
    columnCount,
    labelColumn: labelColumn ?? undefined,
    noLabel: labelColumn === null,
    ignoreColumns,
  });
  let count = header ? -1 : 0;
  cursor.rewind();
  while (cursor.nextLine()) count++;
  if (count === 0)
    throw new UserError(`${path}: no data rows; add exemplars${header ? ' below the header' : ''}`);
  const dim = columns.featureColumns.length;
  const features = new Float32Array(count * dim);
  const labels: string[] | null = columns.labelColumn >= 0 ? [] : null;
  cursor.rewind();
  if (header) cursor.nextLine();
  for (let row = 0; cursor.nextLine(); row++) {
    checkWidth(cursor, columns);
    for (let k = 0; k < dim; k++) {
      const c = columns.featureColumns[k];
      const value =
        cursor.fieldQuoting[c] === 2
          ? Number.NaN
          : parseDecimal(cursor.bytes, cursor.fieldStart[c], cursor.fieldEnd[c]);
      if (!(value <= FLOAT32_MAX && value >= -FLOAT32_MAX)) throw badNumber(cursor, columns, c);
      features[row * dim + k] = value;
    }
    labels?.push(cursor.text(columns.labelColumn));
  }
  return { count, dim, features, labels };
}

function isNumber(text: string): boolean {
  const bytes = Buffer.from(text, 'utf8');
  return text !== '' && !Number.isNaN(parseDecimal(bytes, 0, bytes.length));
}
