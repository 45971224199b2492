import { isUtf8 } from 'node:buffer';
import { readFile, stat } from 'node:fs/promises';
import { accessError } from '../../framework/datasets/index.ts';
import { UserError } from '../../framework/errors.ts';
import { findJsonSyntaxError } from '../../scheduler-stub/json-position.ts';

/** What the file is for, for messages: e.g. `--resume run.ckpt` and how to get a good one. */
export interface JsonFileRole {
  /** Prefix naming the file in messages, e.g. `--resume run.ckpt` or just the path. */
  readonly name: string;
  /** What the file should be, e.g. "a checkpoint". */
  readonly what: string;
  /** How to get a good one. */
  readonly fix: string;
}

/** Larger than any model, checkpoint or report admove writes; a JSON text must fit one string. */
const MAX_JSON_BYTES = 256 * 2 ** 20;

/**
 * Reads a JSON file admove wrote (model, checkpoint, report) and parses it, turning every way
 * it can be unreadable into one line: missing, a directory, too large, binary or UTF-16,
 * invalid UTF-8, or invalid JSON (with line and column). A UTF-8 BOM is allowed.
 */
export async function readJsonFile(path: string, role: JsonFileRole): Promise<unknown> {
  const fail = (problem: string) => new UserError(`${role.name}: ${problem}; ${role.fix}`);
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw fail(`is a directory, not ${role.what}`);
    if (!info.isFile()) throw fail(`is not a regular file`);
    if (info.size > MAX_JSON_BYTES) throw fail(`is ${info.size} bytes, too large to be ${role.what}`);
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const access = accessError(role.name, error);
    if (access !== null) throw access;
    const code = (error as NodeJS.ErrnoException).code;
    // e.g. "cannot read the report (ELOOP)"
    throw new UserError(
      `${role.name}: cannot read ${role.what.replace(/^an? /, 'the ')} (${code ?? String(error)})`,
    );
  }
  if (bytes.length === 0) throw fail(`the file is empty, not ${role.what}`);
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw fail(`the file is UTF-16 text; ${role.what} is UTF-8 JSON`);
  }
  if (bytes.includes(0)) throw fail(`the file holds NUL bytes, so it is binary, not ${role.what} (JSON)`);
  if (!isUtf8(bytes)) throw fail(`the file is not valid UTF-8, so it is not ${role.what} (JSON)`);
  let text = bytes.toString('utf8');
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (error) {
    let at: ReturnType<typeof findJsonSyntaxError>;
    try {
      at = findJsonSyntaxError(text);
    } catch {
      at = undefined; // the scanner recurses: absurd nesting overflows it
    }
    const where = at ? `line ${at.line}, column ${at.column}: ${at.message}` : oneLine(error);
    throw fail(`not ${role.what}: invalid JSON (${where})`);
  }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  return text.replace(/[\u0000-\u001f\u2028\u2029]+/g, ' ').slice(0, 120);
}
