import { realpathSync } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { UserError } from '../../framework/errors.ts';
import { temporaryPathFor } from '../opt/atomic-file.ts';

/** A file the command will write (or read), with the flag that named it, for messages. */
export interface NamedPath {
  readonly flag: string;
  readonly path: string | undefined;
}

/**
 * Checks, before any work, every file the command will write: no two outputs share a path, no
 * output overwrites an input (except a checkpoint continued in place), and each can be written
 * — its directory exists and takes a new file, and the path is not a directory or a device.
 * So a run never trains for an hour and then fails, or keeps one output of two.
 */
export async function checkOutputPaths(
  outputs: readonly NamedPath[],
  inputs: readonly NamedPath[] = [],
  sharedOk: (output: string, input: string) => boolean = () => false,
): Promise<void> {
  const given = outputs.filter((o): o is { flag: string; path: string } => o.path !== undefined);
  const seen = new Map<string, string>();
  for (const o of given) {
    const key = identity(o.path);
    const other = seen.get(key);
    if (other !== undefined) {
      throw new UserError(
        `${other} and ${o.flag} name the same file (${o.path}); one would overwrite the other — give each its own path`,
      );
    }
    seen.set(key, o.flag);
  }
  for (const o of given) {
    for (const i of inputs) {
      if (i.path !== undefined && identity(i.path) === identity(o.path) && !sharedOk(o.flag, i.flag)) {
        throw new UserError(
          `${o.flag} ${o.path} is the file given to ${i.flag}; writing it would destroy the input — give another path`,
        );
      }
    }
  }
  for (const o of given) await checkWritable(o.flag, o.path);
}

/** One output path: not a directory or device, in a directory that takes a new file. */
export async function checkWritable(flag: string, path: string): Promise<void> {
  const fail = (what: string) => new UserError(`${flag} ${path}: ${what}`);
  const existing = await stat(path).catch((error: NodeJS.ErrnoException) => error);
  if (!(existing instanceof Error)) {
    if (existing.isDirectory()) throw fail('is a directory; give a file path, e.g. a name inside it');
    if (!existing.isFile()) throw fail('is not a regular file (a device or pipe); give a file path');
  } else if (existing.code === 'ENOTDIR') {
    throw fail(`${dirname(path)} is not a directory; give a path inside a directory`);
  }
  const directory = dirname(resolve(path));
  const dirInfo = await stat(directory).catch((error: NodeJS.ErrnoException) => error);
  if (dirInfo instanceof Error) {
    if (dirInfo.code === 'ENOENT') throw fail(`the directory ${directory} does not exist; create it first`);
    if (dirInfo.code === 'ENOTDIR')
      throw fail(`${directory} is not a directory; give a path inside a directory`);
    throw fail(`cannot write in ${directory} (${dirInfo.code ?? dirInfo.message})`);
  }
  if (!dirInfo.isDirectory()) throw fail(`${directory} is not a directory; give a path inside a directory`);
  // Try what the write will do: create the temporary file next to the target, then remove it.
  // (access(W_OK) says yes to root on read-only places such as /sys.)
  const probe = temporaryPathFor(path);
  try {
    const handle = await open(probe, 'w');
    await handle.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw fail(`cannot write in ${directory} (${code}); choose a writable directory`);
  }
  await unlink(probe).catch(() => {});
}

/** The same file whatever way it is spelled (`a/./b`, a symlinked directory). */
function identity(path: string): string {
  const full = resolve(path);
  try {
    return realpathSync(full);
  } catch {
    try {
      return resolve(realpathSync(dirname(full)), basename(full));
    } catch {
      return full;
    }
  }
}
