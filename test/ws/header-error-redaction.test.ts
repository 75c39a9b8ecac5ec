/**
 * A credential given in the wrong shape (a header string where pairs were expected, a forgotten
 * colon, a bare CR) is refused without its value in the error message or in the LuatOS trace; and
 * a credential header value holding U+2028/U+2029 is redacted whole in the request trace.
 */
import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { websocket, WebSocketClient } from '../../src/ws/index.js';
import { checkHeaders, parseHeaderString, redactHeaders } from '../../src/ws/headers.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

const SECRET = 'T0K-s3cr3t';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toMatchObject({ code: 'ERR_WS_BAD_HEADER' });
    return (err as Error).message;
  }
  throw new Error('did not throw');
}

describe('header errors do not show credentials', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      'a forgotten colon (LuatOS string form)',
      () => parseHeaderString(`Authorization Bearer ${SECRET}\r\n`),
      /"Authorization" \(the rest not shown\) has no "Name:" part/,
    ],
    [
      'a bare CR',
      () => parseHeaderString(`Authorization: Bearer ${SECRET}\rX-A: 1\r\n`),
      /"Authorization" \(the rest not shown\) contains a bare CR/,
    ],
    [
      'a string where a pair was expected',
      () => checkHeaders([`Authorization: Bearer ${SECRET}`] as never),
      /Header entry "Authorization" \(the rest not shown\)/,
    ],
    [
      'a header string as the headers option',
      () => new WebSocketClient('ws://127.0.0.1:1/', { autoConnect: false, headers: `X-Api-Key=${SECRET}` as never }),
      /not "X-Api-Key" \(the rest not shown\)/,
    ],
    [
      'a name with a space',
      () => checkHeaders([[`Bearer ${SECRET}`, 'x']]),
      /Header name "Bearer" \(the rest not shown\) is not an HTTP token/,
    ],
  ];
  for (const [what, fn, shows] of cases) {
    it(what, () => {
      const msg = messageOf(fn);
      expect(msg).toMatch(shows);
      expect(msg).not.toContain(SECRET);
      expect(msg).not.toContain('T0K');
    });
  }

  it('short strings without a separator are still shown whole', () => {
    expect(messageOf(() => checkHeaders(['X-A'] as never))).toContain('Header entry "X-A" is not');
  });

  it('LuatOS headers(): refused (false) and the trace does not show the token', () => {
    const lines: string[] = [];
    const orig = createDebug.log;
    createDebug.log = (...args: unknown[]) => void lines.push(format(...args));
    cleanup.push(() => {
      createDebug.log = orig;
    });
    const wsc = websocket.create('host', 'ws://127.0.0.1:1/', 0)!;
    cleanup.push(() => wsc.close());
    wsc.debug(true);
    expect(wsc.headers(`Authorization Bearer ${SECRET}\r\n`)).toBe(false);
    expect(lines.join('\n')).toMatch(/headers refused: .*"Authorization"/);
    expect(lines.join('\n')).not.toContain(SECRET);
  });
});

describe('request trace with line separators inside a value', () => {
  for (const sep of ['\u2028', '\u2029']) {
    it(`U+${sep.charCodeAt(0).toString(16).toUpperCase()} in a credential header value: the whole value is redacted`, () => {
      const head = `GET /p?token=q-secret HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer a${sep}${SECRET}\r\nX-Api-Key: k${sep}Cookie: ${SECRET}\r\nX-Plain: shown\r\n\r\n`;
      const out = redactHeaders(head);
      expect(out).not.toContain(SECRET);
      expect(out).not.toContain('q-secret');
      expect(out).toBe(
        'GET /p?token=*** HTTP/1.1\r\nHost: h\r\nAuthorization: [redacted]\r\nX-Api-Key: [redacted]\r\nX-Plain: shown\r\n\r\n',
      );
    });
  }
});

describe('request trace: a token carried as a subprotocol', () => {
  it('credential-looking Sec-WebSocket-Protocol entries are masked, protocol names kept', () => {
    const head = `GET / HTTP/1.1\r\nSec-WebSocket-Protocol: base64url.bearer.authorization.k8s.io.${SECRET}, v4.channel.k8s.io, mqtt\r\n\r\n`;
    const out = redactHeaders(head);
    expect(out).not.toContain(SECRET);
    expect(out).toBe('GET / HTTP/1.1\r\nSec-WebSocket-Protocol: [redacted], v4.channel.k8s.io, mqtt\r\n\r\n');
  });
});
