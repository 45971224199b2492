import { isUtf8 } from 'node:buffer';
import { UserError } from '../errors.ts';

/**
 * Refuses, before parsing, a data file that is not UTF-8 CSV text: UTF-16 (a spreadsheet's
 * "Unicode text"), binary (NUL bytes), invalid UTF-8, or JSON given where CSV is expected.
 * Without this such files fail later with a misleading message (a column "\u0000a" that is
 * "not a number") or, worse, load with mangled class names.
 */
export function checkCsvText(bytes: Uint8Array, path: string): void {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new UserError(`${path}: the file is UTF-16 text; save it as UTF-8 CSV`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new UserError(
      `${path}:${lineOf(bytes, nul)}: a NUL byte, so the file is binary (or UTF-16), not CSV text; give a UTF-8 CSV file`,
    );
  }
  if (!isUtf8(bytes)) {
    throw new UserError(
      `${path}:${firstBadUtf8Line(bytes)}: not valid UTF-8 text; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)`,
    );
  }
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 32 || bytes[i] === 9 || bytes[i] === 10 || bytes[i] === 13)) i++;
  if (bytes[i] === 0x7b || bytes[i] === 0x5b) {
    throw new UserError(
      `${path}:${lineOf(bytes, i)}: the file starts with "${String.fromCharCode(bytes[i])}", so it looks like JSON, not CSV; give a CSV file with one exemplar per line`,
    );
  }
}

/** 1-based line of byte `offset`. */
function lineOf(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 10) line++;
  return line;
}

/** Only on the error path: the first line that does not decode as UTF-8. */
function firstBadUtf8Line(bytes: Uint8Array): number {
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    if (!isUtf8(bytes.subarray(start, end))) return line;
    start = end + 1;
  }
  return 1;
}
