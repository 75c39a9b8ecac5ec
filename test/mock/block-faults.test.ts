/**
 * The mock's faults inside a received block (issue 15), on the raw wire: `reboot cut` stops the
 * output at once (power loss), plain `reboot` still finishes the block; `drop N` / `insert N`
 * change the bytes of the next block but not its announced length.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { bringUpMulti, RawClient, startGreetingServer } from './raw-client.js';

const GREETING = Buffer.alloc(1400);
for (let i = 0; i < GREETING.length; i++) GREETING[i] = 0x21 + (i % 90); // printable, no CR/LF
const HEADER = '\r\n+RECEIVE,0,1400:\r\n';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => undefined);
});

async function connected(): Promise<{ mock: MockModem; c: RawClient; start: () => Promise<void> }> {
  const mock = new MockModem({ baudRate: 115200, rebootDelayMs: 300 });
  cleanup.push(() => mock.close());
  const server = await startGreetingServer(GREETING);
  cleanup.push(() => server.close());
  const c = new RawClient(mock.hostStream());
  await bringUpMulti(c, { rxf: 0 });
  return {
    mock,
    c,
    start: async () => {
      await c.cmd(`AT+CIPSTART=0,"TCP","127.0.0.1",${server.port}\r`, '\r\nOK\r\n');
      await c.expect('\r\n0, CONNECT OK\r\n');
      await c.expect(HEADER);
    },
  };
}

describe('reboot during a block', () => {
  it('"reboot cut": the block stops part-way and RDY follows the silence', async () => {
    const { mock, c, start } = await connected();
    await start();
    await c.waitFor((u) => u.length >= 20, 'the first data bytes');
    mock.applyFault('reboot cut 300');
    await c.waitFor((u) => u.includes('\r\nRDY\r\n'), 'RDY', 5000);
    const text = c.unread();
    const data = Buffer.from(text.slice(0, text.indexOf('\r\nRDY\r\n')), 'latin1');
    expect(data.length).toBeGreaterThanOrEqual(20);
    expect(data.length).toBeLessThan(GREETING.length);
    expect(data.equals(GREETING.subarray(0, data.length))).toBe(true);
  });

  it('plain "reboot" still finishes the block it is writing', async () => {
    const { mock, c, start } = await connected();
    await start();
    await c.waitFor((u) => u.length >= 20, 'the first data bytes');
    mock.applyFault('reboot 300');
    await c.waitFor((u) => u.includes('\r\nRDY\r\n'), 'RDY', 5000);
    const text = c.unread();
    expect(text.slice(0, text.indexOf('\r\nRDY\r\n'))).toBe(`${GREETING.toString('latin1')}\r\n`);
  });
});

describe('line faults inside the next block', () => {
  it('"drop 3": three bytes vanish from its middle, the header still says 1400', async () => {
    const { mock, c, start } = await connected();
    mock.applyFault('drop 3');
    await start();
    const rest = (await c.read(1397 + 2)).toString('latin1');
    expect(rest).toBe(
      `${GREETING.subarray(0, 700).toString('latin1') + GREETING.subarray(703).toString('latin1')}\r\n`,
    );
  });

  it('"insert 5": five foreign bytes appear in its middle', async () => {
    const { mock, c, start } = await connected();
    mock.corruptNextBlock({ insert: Buffer.from('\r\nOK\n') });
    await start();
    const rest = (await c.read(1405 + 2)).toString('latin1');
    expect(rest).toBe(
      `${GREETING.subarray(0, 700).toString('latin1')}\r\nOK\n${GREETING.subarray(700).toString('latin1')}\r\n`,
    );
  });

  it('rejects bad fault lines', () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    expect(() => mock.applyFault('drop')).toThrow(/byte count/);
    expect(() => mock.applyFault('reboot cut 5 6')).toThrow(/Too many words/);
  });
});
