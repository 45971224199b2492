/**
 * Where a JSON text first goes wrong, as line and column, with a short message.
 * Node's own JSON.parse messages differ between versions and sometimes carry no position
 * (or quote a multi-line excerpt), so after JSON.parse fails we re-scan the text with this
 * small strict JSON scanner to say exactly where. Used only on the error path.
 */

export interface JsonSyntaxError {
  /** 0-based character offset. */
  readonly offset: number;
  /** 1-based line and column. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

class Fail {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Returns undefined when the text is valid JSON. With `duplicateKeys`, a property name given
 * twice in one object is an error too: JSON.parse keeps the last one silently, so a trace
 * entry with two "host"s would vacate a host its author may not have meant.
 */
export function findJsonSyntaxError(
  text: string,
  options: { readonly duplicateKeys?: boolean } = {},
): JsonSyntaxError | undefined {
  let i = 0;
  const n = text.length;
  const here = (): string => (i >= n ? 'end of input' : `${JSON.stringify(text[i])}`);
  const fail = (message: string): never => {
    throw new Fail(i, message);
  };
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = (): void => {
    i++; // opening quote
    while (i < n) {
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('invalid escape in string');
      } else if (c < ' ') {
        fail('control character (a line break?) inside a string');
      } else i++;
    }
    fail('unterminated string');
  };
  const value = (): void => {
    ws();
    if (i >= n) fail('unexpected end of input, expected a value');
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      const keys = new Set<string>();
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a double-quoted property name, found ${here()}`);
        const keyAt = i;
        string();
        if (options.duplicateKeys) {
          const key = JSON.parse(text.slice(keyAt, i)) as string;
          if (keys.has(key))
            throw new Fail(keyAt, `property ${JSON.stringify(key)} appears twice in one object`);
          keys.add(key);
        }
        ws();
        if (text[i] !== ':') fail(`expected ':' after property name, found ${here()}`);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected ',' or '}' after property value, found ${here()}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected ',' or ']' after array element, found ${here()}`);
      }
    }
    if (c === '"') {
      string();
      return;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) fail('invalid number');
      else i += m[0].length;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    fail(`unexpected ${here()}, expected a value`);
  };
  try {
    value();
    ws();
    if (i < n) fail(`unexpected ${here()} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    const before = text.slice(0, e.offset);
    const line = before.split('\n').length;
    const column = e.offset - (before.lastIndexOf('\n') + 1) + 1;
    return { offset: e.offset, line, column, message: e.message };
  }
}

/**
 * Where JSON nesting (objects and arrays, outside strings) first goes deeper than `limit`,
 * as 1-based line and column; undefined if it never does. Iterative, so a hostile file of a
 * million `[` cannot overflow the stack here — or later, in code that walks the parsed value.
 */
export function findDeepNesting(text: string, limit: number): { line: number; column: number } | undefined {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return { line, column: i - lineStart + 1 };
    } else if (c === 0x7d || c === 0x5d) depth--;
    if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return undefined;
}
