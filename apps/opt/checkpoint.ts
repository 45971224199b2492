import { open, readFile, rename, unlink } from 'node:fs/promises';
import { UserError } from '../../framework/index.ts';
import type { IterationRecord } from './report.ts';

/**
 * What Opt needs to continue after its coordinator crashed: the optimiser's exact state
 * (weights and CG state), the iteration reached, and the run so far. With an
 * iteration-timed trace and the same settings, a resumed run reaches the result of an
 * uninterrupted one (up to float summation order across workers).
 */
export interface OptCheckpoint {
  readonly format: 'admove-opt-checkpoint';
  readonly version: 1;
  /** Identifies the data and the settings it was made with; resume refuses a mismatch. */
  readonly fingerprint: string;
  readonly iteration: number;
  readonly optimiser: unknown;
  readonly iterations: readonly IterationRecord[];
  readonly passes: number;
  /** ms on the run clock when it was written (the resumed run's clock continues from here). */
  readonly elapsedMs: number;
}

/** Write atomically: a temporary file, fsync, rename — so a checkpoint on disk is always whole. */
export async function writeCheckpoint(path: string, checkpoint: OptCheckpoint): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(JSON.stringify(checkpoint));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

export async function readCheckpoint(path: string, fingerprint: string): Promise<OptCheckpoint> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(
      `--resume ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  let value: Partial<OptCheckpoint>;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(
      `--resume ${path}: not a checkpoint (not JSON); checkpoints are written by --checkpoint FILE`,
    );
  }
  if (value?.format !== 'admove-opt-checkpoint' || value.version !== 1) {
    throw new UserError(`--resume ${path}: not an admove opt checkpoint (field "format")`);
  }
  if (value.fingerprint !== fingerprint) {
    throw new UserError(
      `--resume ${path}: it was made with other data or settings (${value.fingerprint}); resume with the same flags as the run that wrote it`,
    );
  }
  return value as OptCheckpoint;
}

/** The data and settings that must match for a resume to continue the same run. */
export function fingerprintOf(parts: Record<string, unknown>): string {
  return JSON.stringify(parts);
}
