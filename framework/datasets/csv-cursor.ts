import { UserError } from '../errors.ts';

/**
 * Walks the lines of a CSV file held in one Buffer and splits the current line into fields,
 * recording each field's byte range instead of creating strings (no per-row or per-field
 * objects). Fields are trimmed of spaces and tabs; a field wrapped in double quotes may contain
 * the delimiter and `""` for a quote, but not a line break. Lines end in `\n` or `\r\n`.
 */
export class CsvCursor {
  /** 1-based number of the current line in the file. */
  lineNumber = 0;
  lineStart = 0;
  lineEnd = 0;
  /** Byte range of field k of the current line (valid for k < the count `split` returned). */
  fieldStart = new Float64Array(0);
  fieldEnd = new Float64Array(0);
  /** 0 plain, 1 quoted, 2 quoted containing `""` escapes. */
  fieldQuoting = new Uint8Array(0);
  private pos = 0;

  constructor(
    readonly bytes: Buffer,
    readonly path: string,
    readonly delimiter: number,
  ) {
    this.rewind();
  }

  /** Back to the start of the file (after a UTF-8 byte-order mark, if any). */
  rewind(): void {
    const b = this.bytes;
    this.pos = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    this.lineNumber = 0;
  }

  /** Makes `split` store the ranges of up to `capacity` fields (it only counts them beyond that). */
  reserve(capacity: number): void {
    this.fieldStart = new Float64Array(capacity);
    this.fieldEnd = new Float64Array(capacity);
    this.fieldQuoting = new Uint8Array(capacity);
  }

  /** Moves to the next line that is not blank; false at the end of the file. */
  nextLine(): boolean {
    const bytes = this.bytes;
    const length = bytes.length;
    while (this.pos < length) {
      const start = this.pos;
      const newline = bytes.indexOf(10, start);
      let end = newline < 0 ? length : newline;
      this.pos = newline < 0 ? length : newline + 1;
      this.lineNumber++;
      if (end > start && bytes[end - 1] === 13) end--;
      let first = start;
      while (first < end && isBlank(bytes[first])) first++;
      if (first === end) continue;
      this.lineStart = start;
      this.lineEnd = end;
      return true;
    }
    return false;
  }

  /**
   * Splits the current line, storing up to `capacity` field ranges, and returns how many
   * fields the line has (possibly more than were stored, so a ragged row can be reported).
   */
  split(): number {
    const bytes = this.bytes;
    const end = this.lineEnd;
    const delimiter = this.delimiter;
    const capacity = this.fieldStart.length;
    let count = 0;
    let i = this.lineStart;
    for (;;) {
      while (i < end && bytes[i] !== delimiter && isBlank(bytes[i])) i++;
      let fieldStart = i;
      let fieldEnd: number;
      let quoting = 0;
      if (i < end && bytes[i] === 34) {
        quoting = 1;
        fieldStart = ++i;
        for (;;) {
          if (i >= end)
            throw this.error(
              `field ${count + 1} opens a double quote that is not closed on this line (quoted line breaks are not supported); close the quote or remove it`,
            );
          if (bytes[i] === 34) {
            if (i + 1 < end && bytes[i + 1] === 34) {
              quoting = 2;
              i += 2;
              continue;
            }
            break;
          }
          i++;
        }
        fieldEnd = i++;
        while (i < end && bytes[i] !== delimiter && isBlank(bytes[i])) i++;
        if (i < end && bytes[i] !== delimiter) {
          throw this.error(
            `field ${count + 1} has text after its closing double quote; quote the whole field or remove the quotes`,
          );
        }
      } else {
        while (i < end && bytes[i] !== delimiter) i++;
        fieldEnd = i;
        while (fieldEnd > fieldStart && isBlank(bytes[fieldEnd - 1])) fieldEnd--;
      }
      if (count < capacity) {
        this.fieldStart[count] = fieldStart;
        this.fieldEnd[count] = fieldEnd;
        this.fieldQuoting[count] = quoting;
      }
      count++;
      if (i >= end) return count;
      i++; // past the delimiter
    }
  }

  /** Field k of the current line as a string (quotes removed, `""` unescaped). */
  text(k: number): string {
    const s = this.bytes.toString('utf8', this.fieldStart[k], this.fieldEnd[k]);
    return this.fieldQuoting[k] === 2 ? s.replaceAll('""', '"') : s;
  }

  /** A UserError located at the current line: `path:line: message`. */
  error(message: string): UserError {
    return new UserError(`${this.path}:${this.lineNumber}: ${message}`);
  }
}

function isBlank(byte: number): boolean {
  return byte === 32 || byte === 9;
}
