import { describe, expect, it } from 'vitest';
import { parseWsUrl } from '../../src/ws/url.js';

describe('parseWsUrl errors', () => {
  it.each([
    ['ws://user:S3CRET@ho st/feed?token=T0KEN&x=1', '"ws://***@ho st/feed?token=***&x=***" is not a valid URL'],
    ['ws://ho st/p?token=T0KEN', '"ws://ho st/p?token=***" is not a valid URL'],
    ['not a url ?key=T0KEN', '"not a url ?key=***" is not a valid URL'],
  ])('an unparseable URL is quoted without its password or query values: %s', (input, shown) => {
    let err: (Error & { code?: string }) | undefined;
    try {
      parseWsUrl(input);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toBe('ERR_WS_URL');
    expect(err?.message).toContain(shown);
    expect(err?.message).not.toMatch(/S3CRET|T0KEN/);
  });
});
