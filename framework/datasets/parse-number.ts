/**
 * Decimal numbers parsed straight from bytes, so that loading a large text file does not
 * create a string per field. Accepts `[+-]digits[.digits][(e|E)[+-]digits]` with digits on at
 * least one side of the point (`5`, `-0.25`, `.5`, `5.`, `1e-3`); anything else — empty text,
 * `NaN`, `Infinity`, hex, embedded spaces — gives NaN, which callers report as an error.
 *
 * Up to 15 significant digits with a decimal exponent within ±22 take Clinger's fast path
 * (one exact integer times or divided by an exact power of ten, so correctly rounded); longer
 * or more extreme numbers, which the grammar has already validated, fall back to `Number()`.
 */

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const LOWER_E = 101;
const UPPER_E = 69;
const MAX_FAST_DIGITS = 15;

/** The number written in `bytes[start, end)`, or NaN when that text is not a decimal number. */
export function parseDecimal(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (i < end && (bytes[i] === MINUS || bytes[i] === PLUS)) {
    negative = bytes[i] === MINUS;
    i++;
  }
  let mantissa = 0;
  let significant = 0; // digits accumulated into mantissa, after leading zeros
  let exponent = 0;
  let sawDigit = false;
  let slow = false;

  for (; i < end; i++) {
    const d = bytes[i] - ZERO;
    if (d < 0 || d > 9) break;
    sawDigit = true;
    if (significant < MAX_FAST_DIGITS) {
      mantissa = mantissa * 10 + d;
      if (mantissa !== 0) significant++;
    } else {
      slow = true;
    }
  }
  if (i < end && bytes[i] === DOT) {
    for (i++; i < end; i++) {
      const d = bytes[i] - ZERO;
      if (d < 0 || d > 9) break;
      sawDigit = true;
      if (significant < MAX_FAST_DIGITS) {
        mantissa = mantissa * 10 + d;
        if (mantissa !== 0) significant++;
        exponent--;
      } else {
        slow = true;
      }
    }
  }
  if (!sawDigit) return Number.NaN;
  if (i < end && (bytes[i] === LOWER_E || bytes[i] === UPPER_E)) {
    i++;
    let expNegative = false;
    if (i < end && (bytes[i] === MINUS || bytes[i] === PLUS)) {
      expNegative = bytes[i] === MINUS;
      i++;
    }
    let written = 0;
    let digits = 0;
    for (; i < end; i++) {
      const d = bytes[i] - ZERO;
      if (d < 0 || d > 9) break;
      if (written < 100_000) written = written * 10 + d;
      digits++;
    }
    if (digits === 0) return Number.NaN;
    exponent += expNegative ? -written : written;
  }
  if (i !== end) return Number.NaN;

  if (slow) return Number(latin1(bytes, start, end));
  if (mantissa === 0) return negative ? -0 : 0;
  let value: number;
  if (exponent >= 0 && exponent <= 22) value = mantissa * POW10[exponent];
  else if (exponent < 0 && exponent >= -22) value = mantissa / POW10[-exponent];
  else return Number(latin1(bytes, start, end));
  return negative ? -value : value;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}
