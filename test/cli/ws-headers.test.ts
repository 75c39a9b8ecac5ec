/**
 * `air780 ws -H` run as a user would: the server sees the headers, a credential never reaches
 * stderr (even with --verbose), and a header (or URL) that cannot be sent is a usage error before
 * the module is opened.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './build.js';
import { useBuiltCli } from './spawn.js';
import { errorLines, recordingServers } from './ws-helpers.js';

const cleanups = useBuiltCli();

const server = recordingServers(cleanups);

describe('air780 ws -H', () => {
  it('the server sees both headers; the bearer token never shows on stderr or stdout, even with --verbose', async () => {
    const s = await server();
    for (const verbose of [false, true]) {
      const args = [
        'ws',
        '--mock',
        '-H',
        'X-Test: 1',
        '-H',
        'Authorization: Bearer T0K',
        '--linger',
        '300',
        ...(verbose ? ['--verbose'] : []),
        s.url('/h'),
      ];
      const r = await runCli(args, { input: 'with headers\n', timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('with headers\n');
      const c = s.connections.at(-1)!;
      expect(c.headers['x-test']).toBe('1');
      expect(c.headers.authorization).toBe('Bearer T0K');
      expect(r.stderr + r.stdout).not.toContain('T0K');
      if (verbose) {
        // The trace is really on, and shows the header with its value withheld.
        expect(r.stderr).toMatch(/air780:/);
        expect(r.stderr).toMatch(/Authorization: \[redacted\]/);
      }
    }
    expect(s.connections).toHaveLength(2);
  });

  const refused: Array<[string, string, RegExp]> = [
    ['a CR/LF in the value', 'X-Test: 1\r\nX-Injected: yes', /header "X-Test" contains the control character "\\r"/],
    ['a LF in the value', 'X-Test: 1\nX-Injected: yes', /header "X-Test" contains the control character "\\n"/],
    ['a name with a space', 'Bad Name: 1', /header 'Bad …' is not 'Name: value' \(one word, then a colon\)/],
    [
      'the colon forgotten (nothing after the name shown)',
      'Authorization Bearer T0K',
      /header 'Authorization …' is not 'Name: value' \(one word, then a colon\)$/m,
    ],
    ['a name with a CR', 'X\rY: 1', /header 'X …' is not 'Name: value'/],
    ['a name with a control character', 'X\x01Y: 1', /Header name "X\\u0001Y" is not an HTTP token/],
    ['a handshake header', 'Sec-WebSocket-Key: abc', /Header "Sec-WebSocket-Key" is set by the websocket handshake/],
    ['no colon', 'NoColonHere', /header 'NoColonHere' is not 'Name: value'/],
  ];
  for (const [what, header, message] of refused) {
    it(`a header with ${what} is a usage error (exit 2) before the module is opened or the server reached`, async () => {
      const s = await server();
      const r = await runCli(['ws', '--mock', '-H', header, s.url('/h')], { input: 'x\n', timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(2);
      const errors = errorLines(r.stderr);
      expect(errors, r.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      expect(r.stderr).not.toContain('opening the embedded mock');
      expect(s.connections).toHaveLength(0);
      expect(r.stderr).not.toContain('T0K');
    });
  }

  it('a bad URL is a usage error (exit 2) before the module is opened, quoted as typed but for its query', async () => {
    const r = await runCli(['ws', '--mock', 'ws://exa mple/'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^air780: .*"ws:\/\/exa mple\/" is not a valid URL/)]);
    expect(r.stderr).not.toContain('opening the embedded mock');

    const withToken = await runCli(['ws', '--mock', 'ws://exa mple/p?token=SECRET1'], { timeoutMs: 30_000 });
    expect(withToken.code, withToken.stderr).toBe(2);
    expect(errorLines(withToken.stderr)).toEqual([
      expect.stringMatching(/^air780: .*"ws:\/\/exa mple\/p\?token=\*\*\*" is not a valid URL/),
    ]);
    expect(withToken.stderr).not.toContain('SECRET1');
  });
});
