import { constants as bufferConstants } from 'node:buffer';
import { readFile, stat } from 'node:fs/promises';
import { UserError } from '../errors.ts';

/**
 * Reads a whole data file into memory, refusing — before reading a byte — a file larger than
 * `maxBytes` (the CLI's `--max-memory` budget). File-system failures become one-line UserErrors.
 */
export async function readDataFile(path: string, maxBytes?: number): Promise<Buffer> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UserError(`${path}: not a regular file; give the path of a data file`);
    size = info.size;
  } catch (error) {
    throw fileError(path, error);
  }
  if (maxBytes !== undefined && size > maxBytes) {
    throw new UserError(
      `${path}: the file is ${formatBytes(size)}${size >= 1024 ? ` (${size} bytes)` : ''}, more than the memory budget of ${formatBytes(maxBytes)}; raise --max-memory or use a smaller file`,
    );
  }
  if (size > bufferConstants.MAX_LENGTH) {
    throw new UserError(
      `${path}: the file is ${formatBytes(size)}, more than the ${formatBytes(bufferConstants.MAX_LENGTH)} one file can be read into; split it or use a smaller file`,
    );
  }
  try {
    return await readFile(path);
  } catch (error) {
    throw fileError(path, error);
  }
}

/**
 * The one-line error for a file that is missing or may not be read (`name`: the path, or the
 * flag and path), or null for any other failure: the same words for every file admove reads.
 */
export function accessError(name: string, error: unknown): UserError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return new UserError(`${name}: no such file; check the path`);
  if (code === 'EACCES' || code === 'EPERM') {
    return new UserError(`${name}: permission denied; check the file's permissions`);
  }
  return null;
}

function fileError(path: string, error: unknown): UserError {
  if (error instanceof UserError) return error;
  const access = accessError(path, error);
  if (access !== null) return access;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EISDIR') return new UserError(`${path}: is a directory; give the path of a data file`);
  const detail = error instanceof Error ? error.message : String(error);
  return new UserError(`${path}: cannot read the file (${detail.replace(/\s+/g, ' ')})`);
}

/** `1.5 MB` style sizes (powers of 1024), for messages. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
