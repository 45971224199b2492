import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { ExemplarTable } from '../../framework/datasets/index.ts';
import { UserError } from '../../framework/errors.ts';

/** The repository root (this file is test/datasets/helpers.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared real data sets beside the project (absent on some machines: tests skip). */
export const sharedDataDir = resolve(repoRoot, '../shared/data');

/** A fresh temporary folder for CSV files, and a function that removes it. */
export function tempFolder(prefix: string): {
  write: (name: string, text: string | Buffer) => string;
  dir: string;
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), `admove-${prefix}-`));
  return {
    dir,
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Expects `promise` to reject with a one-line UserError whose message contains every string
 * (or matches every RegExp) in `parts`. Returns the message.
 */
export async function expectUserError(
  promise: Promise<unknown>,
  ...parts: (string | RegExp)[]
): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'expected a UserError').toBeInstanceOf(UserError);
  const message = (error as UserError).message;
  expect(message).not.toMatch(/[\r\n]/);
  for (const part of parts) {
    if (typeof part === 'string') expect(message).toContain(part);
    else expect(message).toMatch(part);
  }
  return message;
}

/** Row `r` of a table as plain numbers. */
export function row(table: ExemplarTable, r: number): number[] {
  return Array.from(table.features.subarray(r * table.dim, (r + 1) * table.dim));
}

/** How many exemplars of each class a table holds. */
export function classCounts(table: ExemplarTable, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of table.labels) counts[label]++;
  return counts;
}

/** Whether two typed arrays hold the same bytes (fast, unlike a deep equality of millions of elements). */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}
