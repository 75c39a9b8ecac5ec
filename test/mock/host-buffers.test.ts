import { describe, test } from 'vitest';
import { mockHarness } from './harness.js';
import type { RawClient } from './raw-client.js';

const { setup } = mockHarness();

/**
 * Write `text` as one buffer and overwrite that buffer with garbage as soon as the write callback
 * says it was delivered: a host may reuse its write buffers from then on (Node does not copy them).
 */
function writeThenClobber(c: RawClient, text: string): Promise<void> {
  const buf = Buffer.from(text, 'latin1');
  return new Promise((resolve, reject) =>
    c.stream.write(buf, (err) => {
      buf.fill(0x58); // 'X'
      if (err) reject(err);
      else resolve();
    }),
  );
}

describe('host write buffers (hostStream)', () => {
  test('a command queued behind a busy one survives the host reusing its buffer after the write callback', async () => {
    const { c } = setup({ latencyMs: 50 });
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    // AT keeps the module busy for latencyMs; AT+CSQ waits in its input meanwhile.
    await writeThenClobber(c, 'AT\rAT+CSQ\r');
    await c.expect('\r\nOK\r\n');
    await c.expect('\r\n+CSQ: 19,0\r\n\r\nOK\r\n');
  });

  test('a command received while stalled survives the host reusing its buffer', async () => {
    const { mock, c } = setup();
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    mock.stall(100);
    await writeThenClobber(c, 'AT+CSQ\r');
    await c.expect('\r\n+CSQ: 19,0\r\n\r\nOK\r\n');
  });

  test('a prompt payload behind a busy command survives it too', async () => {
    const { c } = setup({ latencyMs: 30 });
    await c.cmd('ATE0\r', 'ATE0\r\r\nOK\r\n');
    await writeThenClobber(c, 'AT\rAT+FSCREATE="f.txt"\rAT+FSWRITE="f.txt",0,5,10\rhello');
    await c.expect('\r\nOK\r\n\r\nOK\r\n\r\n> ');
    await c.expect('\r\nOK\r\n');
    await c.cmd('AT+FSREAD="f.txt",0,5\r', '\r\nhello\r\n\r\nOK\r\n');
  });
});
