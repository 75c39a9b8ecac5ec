/**
 * Fuzzing the AT argument encoders: whatever the input, a produced command never holds `"`
 * inside an argument, CR, LF, NUL, any byte below 0x20 or 0x7F; refusals are BadArgumentError
 * (`ERR_BAD_ARGUMENT`) and nothing else.
 */
import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  Air780Error,
  assertCommand,
  AT_LIMITS,
  atApn,
  atFileName,
  atHost,
  atInt,
  atPassword,
  atString,
  atUser,
  isValidHost,
} from '../../src/at/index.js';
import { params } from './util.js';

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\x00-\x1f\x7f]/;

/** Hostile strings: control bytes, quotes, non-ASCII, lone surrogates, long runs, near-valid hosts. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 140 }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      '\r',
      '\n',
      '\0',
      '\x1a',
      '\x1b',
      '\x7f',
      '\t',
      'a',
      '.',
      '-',
      ':',
      '\u00e9',
      '\ud800',
      '%',
      '@',
      '/',
    ),
    maxLength: 30,
  }),
  fc
    .tuple(fc.domain(), fc.constantFrom('', '"', '\r\nAT+CFUN=0', '\0', '.', '..', ' ', '\u0130', '/x'))
    .map(([d, s]) => d + s),
  fc.tuple(fc.constantFrom('', '"', '\r', ' '), fc.domain()).map(([s, d]) => s + d),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  fc.tuple(fc.ipV6(), fc.string({ maxLength: 8 })).map(([ip, zone]) => `${ip}%${zone}`),
  fc.integer({ min: 1, max: 400 }).map((n) => 'a'.repeat(n)),
);

/** Not even strings. */
const notString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.object(),
  fc.array(fc.string()),
);

/** Call `fn`; a throw must be a BadArgumentError. Returns the result or undefined when refused. */
function guarded<T>(fn: () => T, argument?: string): T | undefined {
  try {
    return fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Air780Error);
    expect((err as Air780Error).code).toBe('ERR_BAD_ARGUMENT');
    expect((err as Air780Error).message.length).toBeGreaterThan(10);
    if (argument !== undefined) expect((err as { argument?: string }).argument).toBe(argument);
    return undefined;
  }
}

/** A quoted argument: `"` + printable ASCII without `"` + `"`, within `max` inner bytes. */
function expectQuotedSafe(out: string, input: unknown, max: number): void {
  expect(out).toBe(`"${String(input)}"`);
  const inner = out.slice(1, -1);
  expect(inner).not.toMatch(FORBIDDEN);
  expect(inner).not.toContain('"');
  expect(Buffer.byteLength(inner)).toBe(inner.length); // ASCII only
  expect(inner.length).toBeLessThanOrEqual(max);
}

describe('AT argument encoders fuzz', () => {
  it('atString / atApn / atUser / atPassword / atFileName never pass a forbidden byte [seed 78101]', () => {
    const encoders: Array<[string, (v: unknown) => string, number]> = [
      ['apn', atApn, AT_LIMITS.apn],
      ['user', atUser, AT_LIMITS.user],
      ['password', atPassword, AT_LIMITS.password],
      ['fileName', atFileName, AT_LIMITS.fileName],
      ['x', (v) => atString(v, { name: 'x', maxLength: 200 }), 200],
    ];
    fc.assert(
      fc.property(fc.oneof({ weight: 5, arbitrary: hostile }, { weight: 1, arbitrary: notString }), (v) => {
        for (const [name, enc, max] of encoders) {
          const out = guarded(() => enc(v), name);
          if (out === undefined) continue;
          expectQuotedSafe(out, v, max);
          if (name === 'fileName') {
            expect(out).not.toContain('/');
            expect(out.length).toBeGreaterThan(2);
          }
        }
      }),
      params(78101, 1500),
    );
  });

  it('atHost accepts only host names / IP literals and never a forbidden byte [seed 78102]', () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 6, arbitrary: hostile }, { weight: 1, arbitrary: notString }), (v) => {
        const out = guarded(() => atHost(v), 'host');
        if (out === undefined) return;
        expectQuotedSafe(out, v, AT_LIMITS.host);
        expect(isValidHost(v as string)).toBe(true);
        expect(out).not.toMatch(/[\s,;]/);
        // '%' only as an IPv6 zone id (node's isIP accepts [0-9A-Za-z.:-] there).
        if (out.includes('%')) expect(isIP(v as string)).toBe(6);
      }),
      params(78102, 2000),
    );
  });

  it('atInt yields plain decimal digits within its range, or refuses [seed 78103]', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer(),
          fc.double(),
          fc.bigInt().map((b) => Number(b)),
          fc.constantFrom(-0, 2 ** 53, -(2 ** 53), NaN, Infinity),
          notString,
        ),
        fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
        (v, min, max) => {
          const opts: { name: string; min?: number; max?: number } = { name: 'n' };
          if (min !== undefined) opts.min = min;
          if (max !== undefined) opts.max = max;
          const out = guarded(() => atInt(v, opts), 'n');
          if (out === undefined) return;
          expect(out).toMatch(/^-?\d+$/);
          expect(Number(out)).toBe(v === 0 ? 0 : v);
          if (min !== undefined) expect(Number(out)).toBeGreaterThanOrEqual(min);
          if (max !== undefined) expect(Number(out)).toBeLessThanOrEqual(max);
        },
      ),
      params(78103, 1000),
    );
  });

  it('a command assembled from encoded arguments is one line: assertCommand accepts it, no forbidden byte [seed 78104]', () => {
    fc.assert(
      fc.property(
        hostile,
        hostile,
        hostile,
        hostile,
        fc.integer({ min: -5, max: 70_000 }),
        (apn, user, pass, host, port) => {
          const a = guarded(() => atApn(apn));
          const u = guarded(() => atUser(user));
          const p = guarded(() => atPassword(pass));
          if (a !== undefined && u !== undefined && p !== undefined) {
            const cmd = `AT+CSTT=${a},${u},${p}`;
            expect(cmd).not.toMatch(FORBIDDEN);
            expect(cmd.split('"').length - 1).toBe(6);
            expect(() => assertCommand(cmd)).not.toThrow();
          }
          const h = guarded(() => atHost(host));
          const n = guarded(() => atInt(port, { name: 'port', min: 1, max: 65535 }));
          if (h !== undefined && n !== undefined) {
            const cmd = `AT+CIPSTART=0,"TCP",${h},${n}`;
            expect(cmd).not.toMatch(FORBIDDEN);
            expect(cmd.split('"').length - 1).toBe(4);
            expect(() => assertCommand(cmd)).not.toThrow();
          }
        },
      ),
      params(78104, 800),
    );
  });

  it('assertCommand refuses every command holding a control byte, accepts the rest up to 2048 bytes [seed 78105]', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostile,
          fc.tuple(fc.constant('AT+'), hostile).map(([a, b]) => a + b),
          fc.integer({ min: 2000, max: 2100 }).map((n) => `AT${'x'.repeat(n)}`),
          notString,
        ),
        (cmd) => {
          const ok = guarded(() => {
            assertCommand(cmd);
            return true;
          }, 'command');
          const expected =
            typeof cmd === 'string' &&
            cmd.length > 0 &&
            !FORBIDDEN.test(cmd) &&
            Buffer.byteLength(cmd) <= AT_LIMITS.command;
          expect(ok === true).toBe(expected);
        },
      ),
      params(78105, 1500),
    );
  });
});
