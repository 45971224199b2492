import { UserError } from '../../framework/errors.ts';

/**
 * Reads the fields of a parsed JSON file one by one, so that a file that parses but is wrong
 * inside (a checkpoint, a model, a report) is refused before any work with one line naming
 * the file and the field — never accepted to give garbage later, never a TypeError deep inside.
 */
export class JsonFields {
  /**
   * @param path the file, for messages
   * @param fix how to get a good file, appended to every message
   */
  constructor(
    readonly path: string,
    private readonly fix: string,
  ) {}

  /** The UserError for `field`, which should be `want`. */
  fail(field: string, want: string): UserError {
    return new UserError(`${this.path}: field "${field}" ${want}; ${this.fix}`);
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.fail(field, `must be an object, got ${describe(value)}`);
    }
    return value as Record<string, unknown>;
  }

  array(value: unknown, field: string, length?: number): unknown[] {
    if (!Array.isArray(value)) throw this.fail(field, `must be an array, got ${describe(value)}`);
    if (length !== undefined && value.length !== length) {
      throw this.fail(field, `must have ${length} items, got ${value.length}`);
    }
    return value;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string') throw this.fail(field, `must be a string, got ${describe(value)}`);
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') throw this.fail(field, `must be true or false, got ${describe(value)}`);
    return value;
  }

  /** A finite number (JSON has no NaN or Infinity), optionally whole and at least `min`. */
  number(value: unknown, field: string, rule: { integer?: boolean; min?: number } = {}): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw this.fail(field, `must be a number, got ${describe(value)}`);
    }
    if (rule.integer && !Number.isInteger(value))
      throw this.fail(field, `must be a whole number, got ${value}`);
    if (rule.min !== undefined && value < rule.min)
      throw this.fail(field, `must be ≥ ${rule.min}, got ${value}`);
    return value;
  }

  /** A number, or null where the writer records "not measured" (JSON's NaN). */
  numberOrNull(value: unknown, field: string): number | null {
    return value === null ? null : this.number(value, field);
  }

  /** An array of finite numbers, of `length` items when given. */
  numbers(value: unknown, field: string, length?: number): number[] {
    const items = this.array(value, field, length);
    items.forEach((v, i) => {
      this.number(v, `${field}[${i}]`);
    });
    return items as number[];
  }

  /** Each item of an array, as an object, with its field path. */
  objects(value: unknown, field: string): { item: Record<string, unknown>; at: string }[] {
    return this.array(value, field).map((v, i) => ({
      item: this.object(v, `${field}[${i}]`),
      at: `${field}[${i}]`,
    }));
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 30 ? `${value.slice(0, 30)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}
