/**
 * The command line: declared flags only, clear errors for anything else.
 *
 * Tokenising is Node's built-in `util.parseArgs`; the checks on top (unknown flags with a
 * suggestion, values that look like flags, numbers, choices, positionals) are ours so that the
 * wording of the errors and the exit code stay the command's. Supports `--flag value`,
 * `--flag=value`, `-x value`, `-xVALUE`, grouped short booleans, repeated list flags, and `--` to
 * end the flags.
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** How a flag's value is read. */
export type FlagType = 'boolean' | 'string' | 'number' | 'list';

/** One flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes: 'port' for `--port`. */
  name: string;
  /** One-letter alias without the dash: 'H' for `-H`. */
  short?: string;
  type: FlagType;
  /** Shown in `--help`. */
  description: string;
  /** Placeholder for the value in `--help` ('PATH', 'N'). */
  valueName?: string;
  /** For numbers: inclusive bounds; values must be integers unless `float` is set. */
  min?: number;
  max?: number;
  float?: boolean;
  /** For strings: the accepted values. */
  choices?: readonly string[];
}

/** A positional argument. */
export interface PositionalSpec {
  name: string;
  required: boolean;
  description: string;
}

/** What a command accepts. */
export interface CommandSpec {
  /** 'ws' — used in messages as `air780 ws`. */
  name: string;
  summary: string;
  flags: readonly FlagSpec[];
  positionals?: readonly PositionalSpec[];
  /** Extra paragraphs for `--help`. */
  details?: string;
}

/** Parsed flag values keyed by long name. Absent flags are absent (no defaults are filled in). */
export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export interface ParsedArgs {
  flags: FlagValues;
  positionals: string[];
}

/** Edit distance, for suggesting the flag that was probably meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

function closest(name: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const n of names) {
    const d = distance(name, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best;
}

function usage(spec: CommandSpec, message: string): UsageError {
  const cmd = spec.name ? `air780 ${spec.name}` : 'air780';
  return new UsageError(`${cmd}: ${message}`, `run '${cmd} --help' for the options`);
}

function convert(spec: CommandSpec, flag: FlagSpec, raw: string): string | number {
  if (flag.type === 'number') {
    const trimmed = raw.trim();
    const n = Number(trimmed);
    const pattern = flag.float ? /^-?\d+(\.\d+)?$/ : /^-?\d+$/;
    if (!pattern.test(trimmed) || !Number.isFinite(n)) {
      throw usage(spec, `--${flag.name} needs ${flag.float ? 'a number' : 'a whole number'}, got '${raw}'`);
    }
    if (flag.min !== undefined && n < flag.min)
      throw usage(spec, `--${flag.name} must be at least ${flag.min}, got ${n}`);
    if (flag.max !== undefined && n > flag.max)
      throw usage(spec, `--${flag.name} must be at most ${flag.max}, got ${n}`);
    return n;
  }
  if (flag.choices && !flag.choices.includes(raw)) {
    throw usage(spec, `--${flag.name} must be one of ${flag.choices.join(', ')}; got '${raw}'`);
  }
  return raw;
}

/**
 * Parses `argv` (without the node binary, script and command name) against `spec`.
 * Throws {@link UsageError} (code `ERR_USAGE`) for unknown flags, missing values, bad numbers,
 * missing or surplus positionals.
 *
 * Node's `util.parseArgs` splits the tokens (`--flag=value`, `-x value`, grouped short flags, `--`);
 * it runs non-strict so that every refusal is ours, in our wording, with a suggestion for a
 * misspelt flag and with numbers and choices checked against the spec.
 */
export function parseArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of spec.flags) {
    options[f.name] = { type: f.type === 'boolean' ? 'boolean' : 'string', ...(f.short ? { short: f.short } : {}) };
  }
  const { tokens } = nodeParseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags: FlagValues = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    const flag = spec.flags.find((f) => f.name === token.name);
    if (!flag) {
      const near = token.rawName.startsWith('--')
        ? closest(
            token.name,
            spec.flags.map((f) => f.name),
          )
        : undefined;
      throw usage(spec, `unknown option ${token.rawName}${near ? ` (did you mean --${near}?)` : ''}`);
    }
    if (flag.type === 'boolean') {
      if (token.value !== undefined) throw usage(spec, `--${flag.name} takes no value`);
      flags[flag.name] = true;
      continue;
    }
    const raw = token.value;
    // A separate value may start with '-' only for numbers ('--min -5'); otherwise '-x' is the next
    // flag and this one was given none (Node would take '-x' as the value).
    const looksLikeFlag =
      raw !== undefined &&
      !token.inlineValue &&
      raw.startsWith('-') &&
      raw !== '-' &&
      !(flag.type === 'number' && /^-\d/.test(raw));
    if (raw === undefined || looksLikeFlag) {
      throw usage(spec, `${token.rawName} needs a value${flag.valueName ? ` (${flag.valueName})` : ''}`);
    }
    const value = convert(spec, flag, raw);
    if (flag.type === 'list') {
      const list = (flags[flag.name] as string[] | undefined) ?? [];
      list.push(String(value));
      flags[flag.name] = list;
    } else {
      flags[flag.name] = value;
    }
  }
  const declared = spec.positionals ?? [];
  const required = declared.filter((p) => p.required);
  if (positionals.length < required.length) {
    throw usage(
      spec,
      `missing ${required
        .slice(positionals.length)
        .map((p) => `<${p.name}>`)
        .join(' ')}`,
    );
  }
  if (positionals.length > declared.length) {
    throw usage(spec, `unexpected argument '${positionals[declared.length]}'`);
  }
  return { flags, positionals };
}

/** Formats `--help` text for a command. */
export function formatHelp(spec: CommandSpec): string {
  const cmd = spec.name ? `air780 ${spec.name}` : 'air780';
  const pos = (spec.positionals ?? []).map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
  const lines = [`Usage: ${cmd}${spec.flags.length ? ' [options]' : ''}${pos ? ` ${pos}` : ''}`, '', spec.summary];
  if (spec.positionals?.length) {
    lines.push('', 'Arguments:');
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(24)}${p.description}`);
  }
  if (spec.flags.length) {
    lines.push('', 'Options:');
    for (const f of spec.flags) {
      const head = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'boolean' ? '' : ` ${f.valueName ?? 'VALUE'}`}`;
      const extra = f.choices ? ` (${f.choices.join('|')})` : f.type === 'list' ? ' (repeatable)' : '';
      lines.push(`  ${head.padEnd(24)}${head.length >= 24 ? `\n${' '.repeat(26)}` : ''}${f.description}${extra}`);
    }
  }
  if (spec.details) lines.push('', spec.details);
  return `${lines.join('\n')}\n`;
}

/** Reads a flag as a string, or undefined. */
export function str(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** Reads a flag as a number, or the fallback. */
export function num(flags: FlagValues, name: string, fallback: number): number;
export function num(flags: FlagValues, name: string): number | undefined;
export function num(flags: FlagValues, name: string, fallback?: number): number | undefined {
  const v = flags[name];
  return typeof v === 'number' ? v : fallback;
}

/** Reads a boolean flag. */
export function bool(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}

/** Reads a list flag (possibly empty). */
export function list(flags: FlagValues, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : [];
}
