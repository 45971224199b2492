import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UserError } from '../../framework/errors.ts';
import { readSpeed } from '../../framework/partition/host-speed.ts';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/**
 * Parse `argv` against `spec`, turning node's parse errors into one-line UserErrors that
 * name the flag and point at `--help`.
 */
export function parseFlags(command: string, argv: readonly string[], spec: FlagSpec): FlagValues {
  try {
    const { values, positionals, tokens } = parseArgs({
      args: joinNegativeValues(argv, spec),
      options: spec,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
    // parseArgs keeps the last of a repeated flag; a second value is more likely a mistake
    // (a pasted command, an alias) than a wish, so say so instead of guessing.
    const given = new Set<string>();
    for (const token of tokens) {
      if (token.kind !== 'option' || spec[token.name]?.multiple) continue;
      if (given.has(token.name)) {
        throw new UserError(
          `--${token.name} is given more than once; give it once (see admove ${command} --help)`,
        );
      }
      given.add(token.name);
    }
    if (positionals.length > 0) {
      throw new UserError(
        `unexpected argument "${positionals[0]}"; flags start with --, see admove ${command} --help`,
      );
    }
    return values as FlagValues;
  } catch (error) {
    if (error instanceof UserError) throw error;
    const e = error as { code?: string; message: string };
    const flag = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UserError(`unknown flag ${flag}; see admove ${command} --help`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = flag.split(' ')[0];
      throw new UserError(
        spec[name.replace(/^-+/, '')]?.type === 'string'
          ? `${name} needs a value; see admove ${command} --help`
          : `${name} takes no value; see admove ${command} --help`,
      );
    }
    throw new UserError(`${e.message.split('\n')[0]}; see admove ${command} --help`);
  }
}

/**
 * `--iterations -1`: parseArgs takes a value starting with `-` for a flag and stops with
 * "argument is ambiguous"; the user meant a negative number, which the flag's own range
 * check then refuses with a message that says what the range is.
 */
function joinNegativeValues(argv: readonly string[], spec: FlagSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)$/.exec(argv[i])?.[1];
    const next = argv[i + 1];
    if (name && spec[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|inf)/i.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

function text(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UserError(`--${name} needs a value`);
  return v;
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  return text(values, name);
}

export function intFlag(
  values: FlagValues,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = text(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
    throw new UserError(`--${name} must be a whole number, got "${v}"`);
  }
  if (n < min || n > max) throw new UserError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function numberFlag(
  values: FlagValues,
  name: string,
  fallback: number,
  check: (n: number) => boolean,
  range: string,
): number {
  const v = text(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n))
    throw new UserError(`--${name} must be ${range}, got "${v}"`);
  return n;
}

export function choiceFlag<T extends string>(
  values: FlagValues,
  name: string,
  fallback: T,
  choices: readonly T[],
): T {
  const v = text(values, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UserError(`--${name} must be one of ${choices.join(', ')}, got "${v}"`);
  }
  return v as T;
}

/** One declared speed, e.g. `--speed 2`. */
export function speedFlag(values: FlagValues, name: string, fallback: number): number {
  const v = text(values, name);
  if (v === undefined) return fallback;
  const speed = readSpeed(v);
  if (typeof speed === 'string') throw new UserError(`--${name} "${v}" ${speed}`);
  return speed;
}

/** A comma-separated list of positive numbers, e.g. `--speeds 1,1,2,4`. */
export function speedListFlag(values: FlagValues, name: string): number[] | undefined {
  const v = text(values, name);
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => s.trim());
  return parts.map((p, i) => {
    const speed = readSpeed(p);
    if (typeof speed === 'string')
      throw new UserError(`--${name}: item ${i + 1} ("${p}") ${speed}, e.g. --${name} 1,1,2,4`);
    return speed;
  });
}

/** A comma-separated list of column names or 0-based indices. */
export function columnListFlag(values: FlagValues, name: string): (string | number)[] | undefined {
  const v = text(values, name);
  if (v === undefined) return undefined;
  return v.split(',').map((s) => columnRef(s.trim()));
}

export function columnFlag(values: FlagValues, name: string): string | number | undefined {
  const v = text(values, name);
  return v === undefined ? undefined : columnRef(v);
}

/** Kept as text: the CSV loader takes digits as an index unless a header has that name. */
function columnRef(s: string): string {
  return s;
}

/** A byte size: `512MB`, `2GB`, `1.5G`, or plain bytes. */
export function byteSizeFlag(values: FlagValues, name: string, fallback: number): number {
  const v = text(values, name);
  if (v === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb|t|tb)?$/i.exec(v.trim());
  if (!m) throw new UserError(`--${name} must be a size such as 512MB or 2GB, got "${v}"`);
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const scale = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[unit] ?? 1;
  return Math.round(Number(m[1]) * scale);
}
