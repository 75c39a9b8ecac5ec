import { describe, expect, it } from 'vitest';
import { formatHelp, parseArgs, type CommandSpec } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/errors.js';

const spec: CommandSpec = {
  name: 'ws',
  summary: 'test',
  positionals: [{ name: 'url', required: true, description: 'the url' }],
  flags: [
    { name: 'header', short: 'H', type: 'list', description: 'a header', valueName: 'H' },
    { name: 'keepalive', type: 'number', description: 'seconds', min: 0, max: 3600 },
    { name: 'tls', type: 'string', description: 'where', choices: ['host', 'modem'] },
    { name: 'no-deflate', type: 'boolean', description: 'off' },
    { name: 'echo', type: 'boolean', description: 'echo' },
    { name: 'ratio', type: 'number', float: true, description: 'f' },
  ],
};

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('reads flags in every form, repeated lists and positionals', () => {
    const r = parseArgs(
      ['-H', 'A: 1', 'ws://h/x', '--header=B: 2', '--keepalive', '30', '--tls=modem', '--no-deflate', '--ratio', '0.5'],
      spec,
    );
    expect(r.positionals).toEqual(['ws://h/x']);
    expect(r.flags).toEqual({ header: ['A: 1', 'B: 2'], keepalive: 30, tls: 'modem', 'no-deflate': true, ratio: 0.5 });
  });

  it('reads an inline short value, a lone - as a positional, and a value holding = after the first', () => {
    const r = parseArgs(['-HA: 1', '-', '--header=X-Q: a=b', '--ratio=-0.5', '--echo'], spec);
    expect(r.positionals).toEqual(['-']);
    expect(r.flags).toEqual({ header: ['A: 1', 'X-Q: a=b'], ratio: -0.5, echo: true });
  });

  it('treats everything after -- as positional', () => {
    expect(parseArgs(['--', '--echo'], spec).positionals).toEqual(['--echo']);
  });

  it('rejects unknown flags with a suggestion and the help hint', () => {
    const e = usageError(() => parseArgs(['ws://x', '--ecoh'], spec));
    expect(e.code).toBe('ERR_USAGE');
    expect(e.message).toBe('air780 ws: unknown option --ecoh (did you mean --echo?)');
    expect(e.hint).toBe("run 'air780 ws --help' for the options");
    expect(usageError(() => parseArgs(['ws://x', '-Z'], spec)).message).toBe('air780 ws: unknown option -Z');
    expect(usageError(() => parseArgs(['ws://x', '--zzzzzz'], spec)).message).toBe(
      'air780 ws: unknown option --zzzzzz',
    );
  });

  it('rejects missing values, bad numbers, out of range numbers and bad choices', () => {
    expect(usageError(() => parseArgs(['ws://x', '--keepalive'], spec)).message).toMatch(/--keepalive needs a value/);
    expect(usageError(() => parseArgs(['ws://x', '--keepalive', '--echo'], spec)).message).toMatch(/needs a value/);
    expect(usageError(() => parseArgs(['ws://x', '--keepalive', '1.5'], spec)).message).toMatch(
      /whole number, got '1.5'/,
    );
    expect(usageError(() => parseArgs(['ws://x', '--keepalive', '12abc'], spec)).message).toMatch(/whole number/);
    expect(usageError(() => parseArgs(['ws://x', '--keepalive', '-5'], spec)).message).toMatch(/at least 0, got -5/);
    expect(usageError(() => parseArgs(['ws://x', '--keepalive', '4000'], spec)).message).toMatch(/at most 3600/);
    expect(usageError(() => parseArgs(['ws://x', '--tls', 'both'], spec)).message).toMatch(
      /one of host, modem; got 'both'/,
    );
    expect(usageError(() => parseArgs(['ws://x', '--echo=1'], spec)).message).toMatch(/--echo takes no value/);
  });

  it('checks positionals', () => {
    expect(usageError(() => parseArgs(['--echo'], spec)).message).toBe('air780 ws: missing <url>');
    expect(usageError(() => parseArgs(['a', 'b'], spec)).message).toBe("air780 ws: unexpected argument 'b'");
  });

  it('formats help listing every flag', () => {
    const help = formatHelp(spec);
    expect(help).toMatch(/^Usage: air780 ws \[options\] <url>/);
    for (const f of spec.flags) expect(help).toContain(`--${f.name}`);
    expect(help).toContain('-H, --header H');
    expect(help).toContain('(host|modem)');
  });
});
