/**
 * `delivery.waitAccepted`: a write's callback only means the bytes are queued on the host; the
 * tracker says when the module accepted them (`DATA ACCEPT`), driven by the send results. The
 * module's answer is held on the wire to show the difference.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ModemSocket } from '../../src/modem/index.js';
import { openInterposed, useEchoServer, waitFor } from './helpers.js';

const bed = useEchoServer();
const { cleanup } = bed;

type CodedError = Error & { code?: string };

/** Resolves with the rejection of `p`, or the string 'resolved'. */
function outcome(p: Promise<unknown>): Promise<CodedError | 'resolved'> {
  return p.then(
    () => 'resolved' as const,
    (e: CodedError) => e,
  );
}

/** Tracks whether `p` settled yet, without awaiting it. */
function watch(p: Promise<unknown>): { settled: () => boolean; result: Promise<CodedError | 'resolved'> } {
  let done = false;
  const result = outcome(p).finally(() => (done = true));
  return { settled: () => done, result };
}

function writeDone(s: ModemSocket, data: Buffer): Promise<Error | null | undefined> {
  return new Promise((resolve) => s.write(data, (err) => resolve(err)));
}

async function connected(rxMode: 'push' | 'pull' = 'push') {
  const { mock, modem, wire } = await openInterposed(cleanup, rxMode, 'plain');
  const s = modem.connect('127.0.0.1', bed.echo.port);
  s.on('data', () => undefined);
  s.on('error', () => undefined);
  await once(s, 'connect');
  return { mock, modem, wire, s };
}

describe('waitAccepted', () => {
  it('resolves when DATA ACCEPT reaches the host, not at the write callback', async () => {
    const { wire, s } = await connected();
    const hold = wire.holdLineUntilReleased(`DATA ACCEPT:${s.link},100`);
    expect(await writeDone(s, Buffer.alloc(100, 7))).toBeFalsy();
    expect(s.delivery.bytesQueued).toBe(100);
    const w = watch(s.delivery.waitAccepted(100));
    await waitFor(() => hold.seen, 10_000, 'the module to accept');
    // The module has the bytes, the host has not heard: still pending.
    await new Promise((r) => setTimeout(r, 100));
    expect(w.settled()).toBe(false);
    expect(s.delivery.bytesAccepted).toBe(0);
    hold.release();
    expect(await w.result).toBe('resolved');
    expect(s.delivery.bytesAccepted).toBe(100);
    expect(s.bytesWritten).toBe(100);
    // Already accepted: at once.
    expect(await outcome(s.delivery.waitAccepted(60))).toBe('resolved');
  });

  it('a 5000-byte write (4 CIPSENDs) is accepted only after the last chunk; waiters settle in offset order', async () => {
    const { wire, s } = await connected();
    const hold = wire.holdLineUntilReleased(`DATA ACCEPT:${s.link},620`);
    await writeDone(s, Buffer.alloc(5000, 1));
    const order: number[] = [];
    const offsets = [1460, 2920, 4380, 4381, 5000];
    const all = Promise.all(offsets.map((o) => s.delivery.waitAccepted(o).then(() => order.push(o))));
    await waitFor(() => hold.seen, 10_000, 'the last chunk to be accepted by the module');
    await waitFor(() => order.length === 3, 10_000, 'the first three chunks');
    expect(order).toEqual([1460, 2920, 4380]);
    expect(s.delivery.bytesAccepted).toBe(4380);
    expect(wire.hostLines.filter((l) => l === `DATA ACCEPT:${s.link},1460`)).toHaveLength(3);
    hold.release();
    await all;
    expect(order).toEqual(offsets);
  });

  it('rejects with ERR_LINK_CLOSED when the socket is destroyed before the module accepted', async () => {
    const { wire, s } = await connected();
    const hold = wire.holdLineUntilReleased(`DATA ACCEPT:${s.link},10`);
    await writeDone(s, Buffer.alloc(10));
    const w = watch(s.delivery.waitAccepted(10, { timeoutMs: 20_000 }));
    await waitFor(() => hold.seen, 10_000, 'the module to accept');
    s.destroy();
    const r = await w.result;
    expect(r).not.toBe('resolved');
    expect((r as CodedError).code).toBe('ERR_LINK_CLOSED');
    // After the failure a new wait past what was accepted rejects at once.
    expect(((await outcome(s.delivery.waitAccepted(10))) as CodedError).code).toBe('ERR_LINK_CLOSED');
  });

  it('rejects with ERR_LINK_CLOSED when the peer closes before queued bytes were sent', async () => {
    const { mock, wire, s } = await connected();
    const closed = `${s.link}, CLOSED`;
    // The first CIPSEND reaches the module only after the peer's close: refused.
    wire.holdCommand(`AT+CIPSEND=${s.link},`, closed);
    await writeDone(s, Buffer.alloc(3000, 2));
    const w = watch(s.delivery.waitAccepted(3000, { timeoutMs: 20_000 }));
    await waitFor(() => wire.holdingCommand, 10_000, 'the CIPSEND to be written');
    mock.closePeer(s.link);
    const r = await w.result;
    expect(r).not.toBe('resolved');
    expect((r as CodedError).code).toBe('ERR_LINK_CLOSED');
    expect(s.delivery.bytesAccepted).toBe(0);
  });

  it('times out with ERR_DELIVERY_TIMEOUT when the module accepts nothing, and aborts with ERR_ABORTED', async () => {
    const { wire, s } = await connected();
    const hold = wire.holdLineUntilReleased(`DATA ACCEPT:${s.link},10`);
    await writeDone(s, Buffer.alloc(10));
    const timedOut = await outcome(s.delivery.waitAccepted(10, { timeoutMs: 150 }));
    expect(timedOut).not.toBe('resolved');
    expect((timedOut as CodedError).code).toBe('ERR_DELIVERY_TIMEOUT');
    expect((timedOut as CodedError).message).toMatch(/accepted 0 bytes, not 10/);
    const ac = new AbortController();
    const aborted = watch(s.delivery.waitAccepted(10, { signal: ac.signal }));
    ac.abort();
    expect(((await aborted.result) as CodedError).code).toBe('ERR_ABORTED');
    const pre = new AbortController();
    pre.abort();
    expect(((await outcome(s.delivery.waitAccepted(10, { signal: pre.signal }))) as CodedError).code).toBe(
      'ERR_ABORTED',
    );
    // Those settled waits left nothing behind: the real acceptance still resolves a new one.
    const w = watch(s.delivery.waitAccepted(10));
    await waitFor(() => hold.seen, 10_000, 'the module to accept');
    hold.release();
    expect(await w.result).toBe('resolved');
  });
});
