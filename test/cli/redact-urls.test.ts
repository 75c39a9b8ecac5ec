/** redactUrls on messages that quote URLs: query values and passwords hidden, nothing else changed. */
import { describe, expect, it } from 'vitest';
import { redactUrls } from '../../src/cli/format.js';

describe('redactUrls', () => {
  it('leaves a URL with nothing to hide exactly as written', () => {
    expect(redactUrls('"ws://exa" is not a valid URL: write it as ws://host[:port]/path or wss://...')).toBe(
      '"ws://exa" is not a valid URL: write it as ws://host[:port]/path or wss://...',
    );
    expect(redactUrls('connect to wss://h:1 failed')).toBe('connect to wss://h:1 failed');
    expect(redactUrls('WS://Host/Path')).toBe('WS://Host/Path');
  });

  it('hides query values and passwords wherever a URL appears', () => {
    expect(redactUrls("Cannot connect to 'wss://h:1/x?token=SECRET': refused")).toBe(
      "Cannot connect to 'wss://h:1/x?token=***': refused",
    );
    expect(redactUrls('a ws://u:pw@h/p b')).toBe('a ws://u:***@h/p b');
    expect(redactUrls('x ws://h/p?SECRET y ws://h/q?k=SECRET2')).toBe('x ws://h/p?*** y ws://h/q?k=***');
  });
});
