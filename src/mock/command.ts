/** One command from a command line, e.g. `+CIPSTART=0,"TCP","h",80` or `E0`. */
export interface AtCommand {
  /** Upper-cased name: `+CIPSTART`, `^MODE`, `E`, `I`, `&W`, `Z`, `Q`, `V`. */
  name: string;
  /** `exec` (AT+X), `read` (AT+X?), `test` (AT+X=?), `set` (AT+X=...). Basic commands are `exec`/`set` by digit. */
  type: 'exec' | 'read' | 'test' | 'set';
  /** Parameters of a `set` (or a basic command's digits as one parameter). */
  args: AtArg[];
  /** The text as received, for the transcript and debug. */
  raw: string;
}

/** A parameter: its text without quotes, and whether it was quoted. */
export interface AtArg {
  value: string;
  quoted: boolean;
}

/** Thrown for a line that is not valid AT syntax (answered `ERROR`). */
export class AtSyntaxError extends Error {}

/**
 * Split the part of a line after `AT` into commands. One `AT` may carry several commands
 * separated by `;` (manual §1.3: `AT+IPR=115200;&W`), basic commands may follow each other (`E0Q0`).
 */
export function splitCommands(body: string): AtCommand[] {
  const out: AtCommand[] = [];
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === ';' || c === ' ') {
      i++;
      continue;
    }
    if (c === '+' || c === '^') {
      let j = i + 1;
      let inQuote = false;
      while (j < body.length && (inQuote || body[j] !== ';')) {
        if (body[j] === '"') inQuote = !inQuote;
        j++;
      }
      if (inQuote) throw new AtSyntaxError('unterminated string');
      out.push(parseExtended(body.slice(i, j)));
      i = j;
      continue;
    }
    if (c === '&') {
      const m = /^&([A-Za-z])(\d*)/.exec(body.slice(i));
      if (!m) throw new AtSyntaxError('bad & command');
      out.push(basic(`&${m[1]!.toUpperCase()}`, m[2]!, m[0]));
      i += m[0].length;
      continue;
    }
    const m = /^([A-Za-z])(\d*)(\?)?/.exec(body.slice(i));
    if (!m) throw new AtSyntaxError(`unexpected ${JSON.stringify(c)}`);
    const cmd = basic(m[1]!.toUpperCase(), m[2]!, m[0]);
    if (m[3]) cmd.type = 'read';
    out.push(cmd);
    i += m[0].length;
  }
  return out;
}

function basic(name: string, digits: string, raw: string): AtCommand {
  return digits === ''
    ? { name, type: 'exec', args: [], raw }
    : { name, type: 'set', args: [{ value: digits, quoted: false }], raw };
}

function parseExtended(text: string): AtCommand {
  const m = /^([+^][A-Za-z0-9_&]+)(.*)$/s.exec(text);
  if (!m) throw new AtSyntaxError('bad extended command');
  const name = m[1]!.toUpperCase();
  const rest = m[2]!;
  if (rest === '') return { name, type: 'exec', args: [], raw: text };
  if (rest === '?') return { name, type: 'read', args: [], raw: text };
  if (rest === '=?') return { name, type: 'test', args: [], raw: text };
  if (rest[0] !== '=') throw new AtSyntaxError('expected = after command name');
  return { name, type: 'set', args: parseArgs(rest.slice(1)), raw: text };
}

/** Comma-separated parameters; quotes group (no escapes exist in this dialect). */
export function parseArgs(text: string): AtArg[] {
  const args: AtArg[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new AtSyntaxError('unterminated string');
      args.push({ value: text.slice(i + 1, end), quoted: true });
      i = end + 1;
      while (text[i] === ' ') i++;
      if (i < text.length && text[i] !== ',') throw new AtSyntaxError('junk after string');
    } else {
      const end = text.indexOf(',', i);
      const v = (end < 0 ? text.slice(i) : text.slice(i, end)).trim();
      args.push({ value: v, quoted: false });
      i = end < 0 ? text.length : end;
    }
    if (i >= text.length) break;
    i++; // the comma
  }
  return args;
}

/** An integer parameter within [min, max], or undefined when absent/invalid. */
export function intArg(arg: AtArg | undefined, min: number, max: number): number | undefined {
  if (!arg || arg.value === '' || !/^\d+$/.test(arg.value)) return undefined;
  const n = Number(arg.value);
  return n >= min && n <= max ? n : undefined;
}
