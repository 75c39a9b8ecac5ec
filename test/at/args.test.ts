import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AtChannel,
  atApn,
  atFileName,
  atHost,
  atInt,
  atPassword,
  atString,
  atUser,
  BadArgumentError,
} from '../../src/at/index.js';
import { FakeModule } from './fake.js';

const BAD_BYTES = ['"', '\r', '\n', '\0', '\x1a', '\x1b', '\t', '\x7f', '\u0085', '\u010d'];

function refused(fn: () => unknown, argument: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BadArgumentError);
  expect(err).toMatchObject({ code: 'ERR_BAD_ARGUMENT', argument });
}

describe('argument encoding', () => {
  it('quotes valid strings and hosts', () => {
    expect(atApn('cmnet')).toBe('"cmnet"');
    expect(atUser('')).toBe('""');
    expect(atPassword("p@ss w0rd!#$%&'()*+")).toBe('"p@ss w0rd!#$%&\'()*+"');
    expect(atUser(',-./:;<=>?[]^_`{|}~\\')).toBe('",-./:;<=>?[]^_`{|}~\\"');
    expect(atHost('example.com')).toBe('"example.com"');
    expect(atHost('a-b.c_d.example.')).toBe('"a-b.c_d.example."');
    expect(atHost('192.0.2.1')).toBe('"192.0.2.1"');
    expect(atHost('2001:db8::1')).toBe('"2001:db8::1"');
    expect(atHost('localhost')).toBe('"localhost"');
    expect(atFileName('ca.crt')).toBe('"ca.crt"');
    expect(atInt(5, { name: 'link', min: 0, max: 5 })).toBe('5');
  });

  it('refuses any string holding ", CR, LF, NUL, other control bytes or non-ASCII', () => {
    for (const c of BAD_BYTES) {
      refused(() => atApn(`cm${c}net`), 'apn');
      refused(() => atUser(`u${c}`), 'user');
      refused(() => atPassword(`${c}pw`), 'password');
      refused(() => atFileName(`ca${c}.crt`), 'fileName');
      refused(() => atString(`x${c}`, { name: 'v', maxLength: 10 }), 'v');
      refused(() => atHost(`exa${c}mple.com`), 'host');
    }
  });

  it('refuses over-long values: host and APN >128 bytes, user and password >32', () => {
    const label = 'a'.repeat(60);
    const host128 = [label, label, 'abc.ef'].join('.'); // 128 bytes
    expect(host128).toHaveLength(128);
    expect(atHost(host128)).toBe(`"${host128}"`);
    refused(() => atHost(`${host128}g`), 'host');
    expect(atApn('a'.repeat(128))).toHaveLength(130);
    refused(() => atApn('a'.repeat(129)), 'apn');
    expect(atUser('u'.repeat(32))).toHaveLength(34);
    refused(() => atUser('u'.repeat(33)), 'user');
    refused(() => atPassword('p'.repeat(33)), 'password');
  });

  it('refuses hosts that are not host names or IP literals', () => {
    const bad = [
      '',
      'exa mple.com',
      'example.com",80\rAT+CFUN=0',
      '-lead.example',
      'trail-.example',
      'a..b',
      '.',
      `${'a'.repeat(64)}.com`,
      '999.1.1.1',
      '1.2.3',
      'http://example.com',
      'user@example.com',
      'example.com:80',
      '[::1]',
      'exa*mple.com',
    ];
    for (const h of bad) refused(() => atHost(h), 'host');
    refused(() => atHost(42), 'host');
    refused(() => atApn(undefined), 'apn');
  });

  it('refuses integers out of range or not integers', () => {
    refused(() => atInt(6, { name: 'link', min: 0, max: 5 }), 'link');
    refused(() => atInt(1.5, { name: 'len' }), 'len');
    refused(() => atInt('1', { name: 'len' }), 'len');
    refused(() => atInt(Number.NaN, { name: 'len' }), 'len');
  });

  it('send() refuses command strings that would inject a second command; nothing is written', async () => {
    const fake = new FakeModule();
    const ch = new AtChannel(fake.stream);
    const bad = ['AT\r\nAT+CFUN=0', 'AT+CSQ\r', 'AT\nATZ', 'AT\0', 'AT+CIPSEND=0,5\x1a', '', `AT+X${'x'.repeat(3000)}`];
    for (const cmd of bad) {
      await expect(ch.send(cmd)).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT', argument: 'command' });
    }
    await expect(ch.send('AT', { timeoutMs: -1 })).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
    await fake.idle();
    expect(fake.written.length).toBe(0);
    // Building a command from a hostile host fails before send() is even called.
    expect(() => ch.send(`AT+CIPSTART=0,"TCP",${atHost('evil.com"\r\nAT+CFUN=0')},80`)).toThrow(BadArgumentError);
    await fake.idle();
    expect(fake.written.length).toBe(0);
    ch.close();
  });
});

describe('layering', () => {
  it('src/at imports nothing but its own files, node builtins and debug', () => {
    const dir = fileURLToPath(new URL('../../src/at/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    const specifiers: string[] = [];
    for (const f of files) {
      const src = readFileSync(path.join(dir, f), 'utf8');
      for (const m of src.matchAll(
        /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
      )) {
        specifiers.push(m[1] ?? m[2]!);
      }
    }
    expect(specifiers.length).toBeGreaterThan(5);
    const bad = specifiers.filter((s) => !(/^\.\/[\w-]+\.js$/.test(s) || s.startsWith('node:') || s === 'debug'));
    expect(bad).toEqual([]);
  });
});
