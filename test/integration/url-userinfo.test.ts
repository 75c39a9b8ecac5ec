/** Fix in src/ws found by the fuzz suite: an undecodable %-escape in the URL userinfo threw URIError. */
import { describe, expect, it } from 'vitest';
import { websocket, WebSocketClient } from '../../src/ws/index.js';
import { parseWsUrl } from '../../src/ws/url.js';

describe('URL userinfo with a %-escape that is not UTF-8', () => {
  it.each(['ws://%E0@example.com/', 'wss://user:%FF%FE@example.com/x', 'ws://%C3%28:pw@127.0.0.1:8080/'])(
    '%s → ERR_WS_URL, password not shown',
    (url) => {
      let err: (Error & { code?: string }) | undefined;
      try {
        parseWsUrl(url);
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err).toBeDefined();
      expect(err!.name).toBe('WsUrlError');
      expect(err!.code).toBe('ERR_WS_URL');
      expect(err!.message).toMatch(/encodeURIComponent/);
      expect(err!.message).not.toMatch(/%FF%FE|:pw@/);
      expect(() => new WebSocketClient(url, { autoConnect: false })).toThrow(
        expect.objectContaining({ code: 'ERR_WS_URL' }),
      );
      // The LuatOS facade answers nil, as the firmware does for an unusable URL.
      expect(websocket.create(null, url)).toBeNull();
    },
  );

  it('valid escapes still become Basic credentials', () => {
    const t = parseWsUrl('ws://%C3%A9t%C3%A9:p%40ss@example.com/');
    expect(t.authorization).toBe(`Basic ${Buffer.from('été:p@ss').toString('base64')}`);
    expect(t.display).not.toContain('p%40ss');
  });
});
