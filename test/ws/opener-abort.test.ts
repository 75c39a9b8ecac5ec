/** openerConnect: the attempt's signal reaches the opener, and an abort settles the connect at once. */
import { PassThrough, type Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openerConnect, WebSocketClient, type StreamOpener } from '../../src/ws/index.js';

const target = (signal: AbortSignal) => ({ host: '10.0.0.1', port: 80, secure: false, servername: '', signal });

describe('openerConnect and the abort signal', () => {
  it('passes the signal to openStream', async () => {
    let seen: AbortSignal | undefined;
    const opener: StreamOpener = {
      openStream: async (_h, _p, o) => {
        seen = o?.signal;
        return new PassThrough();
      },
    };
    const ac = new AbortController();
    const s = await openerConnect(opener)(target(ac.signal));
    expect(seen).toBe(ac.signal);
    s.destroy();
  });

  it('an opener that ignores the signal: the connect rejects on abort, and the late stream is destroyed', async () => {
    let deliver!: (s: Duplex) => void;
    const opener: StreamOpener = { openStream: () => new Promise<Duplex>((r) => (deliver = r)) };
    const ac = new AbortController();
    const p = openerConnect(opener)(target(ac.signal));
    ac.abort(new Error('handshake timeout'));
    await expect(p).rejects.toMatchObject({ code: 'ERR_WS_CONNECT', message: expect.stringMatching(/aborted/) });
    const late = new PassThrough();
    deliver(late);
    await new Promise((r) => setImmediate(r));
    expect(late.destroyed).toBe(true);
  });

  it('an opener failure is still a WsConnectError with the cause', async () => {
    const cause = Object.assign(new Error('CONNECT FAIL'), { code: 'ERR_CONNECT_FAILED' });
    const opener: StreamOpener = { openStream: () => Promise.reject(cause) };
    await expect(openerConnect(opener)(target(new AbortController().signal))).rejects.toMatchObject({
      code: 'ERR_WS_CONNECT',
      cause,
    });
  });

  it('already aborted: openStream is not called', async () => {
    let called = false;
    const opener: StreamOpener = {
      openStream: async () => {
        called = true;
        return new PassThrough();
      },
    };
    const ac = new AbortController();
    ac.abort();
    await expect(openerConnect(opener)(target(ac.signal))).rejects.toMatchObject({ code: 'ERR_WS_CONNECT' });
    expect(called).toBe(false);
  });
});

describe('a `connect` option that ignores the signal', () => {
  it('a stream that arrives after close() is destroyed at once: no request is written on it', async () => {
    let deliver!: (s: Duplex) => void;
    const client = new WebSocketClient('ws://127.0.0.1:1/?token=SECRET', {
      handshakeTimeoutMs: 60_000,
      connect: () => new Promise<Duplex>((r) => (deliver = r)),
    });
    const closed = client.closed();
    client.close();
    expect((await closed).code).toBe(1006);
    const late = new PassThrough();
    const written: Buffer[] = [];
    late.on('data', (b: Buffer) => written.push(b));
    deliver(late);
    await new Promise((r) => setTimeout(r, 20));
    expect(late.destroyed).toBe(true);
    expect(Buffer.concat(written).toString()).toBe('');
  });

  it('a stream that arrives after the handshake timeout is destroyed at once (it would wait for a server that never answers)', async () => {
    let deliver!: (s: Duplex) => void;
    const client = new WebSocketClient('ws://127.0.0.1:1/', {
      handshakeTimeoutMs: 50,
      connect: () => new Promise<Duplex>((r) => (deliver = r)),
    });
    const errors: Array<Error & { code?: string }> = [];
    client.on('error', (e) => errors.push(e));
    await client.closed();
    expect(errors.map((e) => e.code)).toEqual(['ERR_WS_HANDSHAKE_TIMEOUT']);
    const late = new PassThrough();
    deliver(late);
    await new Promise((r) => setTimeout(r, 20));
    expect(late.destroyed).toBe(true);
    expect(client.state).toBe('closed');
  });
});
