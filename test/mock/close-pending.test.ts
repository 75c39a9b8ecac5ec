/** MockModem.close() with host writes still on the simulated line. */
import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';

describe('MockModem.close with writes in flight', () => {
  it('ends the host stream without an error event, and the pending write callback gets no error', async () => {
    // 1200 baud: 4 KiB takes ~34 s to cross, so the write is certainly pending at close().
    const mock = new MockModem({ baudRate: 1200 });
    const host = mock.hostStream();
    const errors: Error[] = [];
    host.on('error', (e: Error) => errors.push(e));
    host.resume();
    const written = new Promise<unknown>((resolve) => host.write(Buffer.alloc(4096, 0x41), resolve));
    await new Promise((r) => setTimeout(r, 50));
    await mock.close();
    const cbErr = await Promise.race([written, new Promise((r) => setTimeout(() => r('no callback'), 2000))]);
    await new Promise((r) => setImmediate(r));
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(cbErr).toBeNull();
    expect(host.destroyed).toBe(true);
  });
});
