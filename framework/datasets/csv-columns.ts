import { UserError } from '../errors.ts';

/** A column given by header name or by 0-based index. */
export type ColumnRef = string | number;

/** Which column does what, resolved against the header (or the first row's width). */
export interface ColumnPlan {
  readonly columnCount: number;
  readonly labelColumn: number;
  /** -1 when the split is not by column. */
  readonly splitColumn: number;
  /** Indices of the feature columns, in file order. */
  readonly featureColumns: Int32Array;
  /** `"name"` with a header, else `column 7`; for messages. */
  readonly describe: (column: number) => string;
}

export interface ColumnRequest {
  readonly path: string;
  /** 1-based line number of the header, or of the first data row without a header. */
  readonly line: number;
  /** Header names, or null when the file has no header. */
  readonly names: readonly string[] | null;
  readonly columnCount: number;
  readonly labelColumn?: ColumnRef;
  readonly ignoreColumns?: readonly ColumnRef[];
  readonly splitColumn?: ColumnRef;
  /** The file has no class column (data to classify): `labelColumn` is then -1. */
  readonly noLabel?: boolean;
}

/** Header names that mark the class column when no label column is given (case-insensitive). */
export const DEFAULT_LABEL_NAMES = ['label', 'class'] as const;

const FLAGS = { label: '--label-column', ignore: '--ignore-columns', split: '--split-column' } as const;
type Role = keyof typeof FLAGS;

/**
 * Resolves the label, split and ignored columns; every other column is a feature.
 * The default label column is the first header name equal to `label` or `class` (ignoring
 * case), and otherwise — or without a header — the last column.
 */
export function planColumns(request: ColumnRequest): ColumnPlan {
  const { names, columnCount } = request;
  const describe = (column: number): string => (names ? `column "${names[column]}"` : `column ${column}`);

  const labelColumn = request.noLabel
    ? -1
    : request.labelColumn === undefined
      ? defaultLabelColumn(names, columnCount)
      : resolve(request, request.labelColumn, 'label');
  const splitColumn = request.splitColumn === undefined ? -1 : resolve(request, request.splitColumn, 'split');
  if (splitColumn >= 0 && splitColumn === labelColumn) {
    throw new UserError(
      `${request.path}: the split column and the label column are both ${describe(labelColumn)}; choose different columns with ${FLAGS.label} and ${FLAGS.split}`,
    );
  }
  const excluded = new Uint8Array(columnCount);
  if (labelColumn >= 0) excluded[labelColumn] = 1;
  if (splitColumn >= 0) excluded[splitColumn] = 1;
  for (const ref of request.ignoreColumns ?? []) {
    const column = resolve(request, ref, 'ignore');
    if (column === labelColumn) {
      throw new UserError(
        `${request.path}: ${FLAGS.ignore} includes the label ${describe(column)}; remove it from ${FLAGS.ignore} or pick another ${FLAGS.label}`,
      );
    }
    excluded[column] = 1;
  }
  const features: number[] = [];
  for (let c = 0; c < columnCount; c++) if (!excluded[c]) features.push(c);
  if (features.length === 0) {
    throw new UserError(
      `${request.path}: no feature columns are left once the label, split and ignored columns are removed; check ${FLAGS.label} and ${FLAGS.ignore}`,
    );
  }
  return { columnCount, labelColumn, splitColumn, featureColumns: Int32Array.from(features), describe };
}

function defaultLabelColumn(names: readonly string[] | null, columnCount: number): number {
  if (names) {
    for (const wanted of DEFAULT_LABEL_NAMES) {
      const index = names.findIndex((name) => name.toLowerCase() === wanted);
      if (index >= 0) return index;
    }
  }
  return columnCount - 1;
}

/**
 * A name is looked up in the header first (exactly, then ignoring case); a string of digits
 * that is not a header name, or a number, is a 0-based index.
 */
function resolve(request: ColumnRequest, ref: ColumnRef, role: Role): number {
  const { path, line, names, columnCount } = request;
  const flag = FLAGS[role];
  const what = role === 'ignore' ? 'ignored column' : `${role} column`;
  if (typeof ref === 'string') {
    const name = ref.trim();
    if (names) {
      const exact = matches(names, (n) => n === name);
      const found = exact.length > 0 ? exact : matches(names, (n) => n.toLowerCase() === name.toLowerCase());
      if (found.length > 1) {
        throw new UserError(
          `${path}:${line}: ${what} "${name}" matches columns ${found.join(' and ')} of the header; give a 0-based index with ${flag} INDEX`,
        );
      }
      if (found.length === 1) return found[0];
    }
    if (/^\d+$/.test(name)) return resolve(request, Number(name), role);
    if (!names) {
      throw new UserError(
        `${path}: ${what} "${name}" cannot be found by name because the file has no header; give a 0-based index (0–${columnCount - 1}) with ${flag} INDEX`,
      );
    }
    throw new UserError(
      `${path}:${line}: no column named "${name}" for the ${what} (columns: ${listNames(names)}); use ${flag} NAME|INDEX`,
    );
  }
  if (!Number.isInteger(ref) || ref < 0 || ref >= columnCount) {
    throw new UserError(
      `${path}:${line}: ${what} index ${ref} is out of range: the file has ${columnCount} columns (0–${columnCount - 1}); use ${flag} NAME|INDEX`,
    );
  }
  return ref;
}

function matches(names: readonly string[], test: (name: string) => boolean): number[] {
  const found: number[] = [];
  names.forEach((name, index) => {
    if (test(name)) found.push(index);
  });
  return found;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 12).map((n) => `"${n}"`);
  if (names.length > 12) shown.push(`… ${names.length - 12} more`);
  return shown.join(', ');
}
