import { readFile } from 'node:fs/promises';
import { UserError } from '../../framework/index.ts';
import type { RunReport } from '../opt/report.ts';

/** Read a `--report` file, checking the fields the charts use (one-line errors naming the field). */
export async function readRunReport(path: string): Promise<RunReport> {
  let textContent: string;
  try {
    textContent = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: cannot read the report (${code ?? String(error)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(textContent);
  } catch (error) {
    throw new UserError(`${path}: not JSON (${(error as Error).message})`);
  }
  const r = value as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null || r['tool'] !== 'admove') {
    throw new UserError(`${path}: not an admove run report (write one with admove opt --report FILE)`);
  }
  if (r['schemaVersion'] !== 1) {
    throw new UserError(
      `${path}: schemaVersion ${String(r['schemaVersion'])} is not one this plot knows (1)`,
    );
  }
  for (const field of ['iterations', 'events', 'redistributions', 'workers'] as const) {
    if (!Array.isArray(r[field])) throw new UserError(`${path}: "${field}" must be an array`);
  }
  return value as RunReport;
}
