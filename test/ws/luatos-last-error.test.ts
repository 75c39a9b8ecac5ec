/**
 * The LuatOS facade keeps its return values (null, false) and gives each one its reason:
 * `websocket.lastError()` after a null `create`, `wsc.lastError()` after a false `connect`, `send`
 * or `headers` — an Error with a stable code whose message says what to do; null after success.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { websocket, type LuatWebSocket } from '../../src/ws/index.js';
import { startEchoServer, type EchoServer } from '../../src/cli/echo-server.js';

let echo: EchoServer | undefined;
const clients: LuatWebSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await echo?.close();
  echo = undefined;
});

function conack(wsc: LuatWebSocket, received: Array<string | Buffer>): Promise<void> {
  return new Promise((resolve, reject) => {
    wsc.on((_c, event, data, payload) => {
      if (event === 'conack') resolve();
      if (event === 'recv') received.push(data);
      if (event === 'error') reject(payload);
    });
  });
}

describe('websocket.lastError()', () => {
  it('says why create returned null, and is null after a create that worked', () => {
    expect(websocket.create('host', 'http://example.com/')).toBeNull();
    expect(websocket.lastError()).toMatchObject({ code: 'ERR_WS_URL' });
    expect(websocket.lastError()!.message).toMatch(/ws:\/\/|wss:\/\//);

    expect(websocket.create({ notAModem: true } as never, 'ws://127.0.0.1:1/')).toBeNull();
    expect(websocket.lastError()).toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
    expect(websocket.lastError()!.message).toContain('Modem.open()');

    expect(websocket.create(null, 'ws://127.0.0.1:1/')).not.toBeNull();
    expect(websocket.lastError()).toBeNull();
    expect(websocket.create('host', 7 as never as string)).toBeNull();
    expect(websocket.lastError()).toMatchObject({ code: 'ERR_WS_URL' });
  });
});

describe('LuatWebSocket.lastError()', () => {
  it('says why send, headers and connect returned false', async () => {
    echo = await startEchoServer();
    const wsc = websocket.create('host', `${echo.url}/ws/echo2`)!;
    clients.push(wsc);
    expect(wsc.lastError()).toBeNull();

    expect(wsc.headers({ 'Bad Name': 'x' })).toBe(false);
    expect(wsc.lastError()).toMatchObject({ code: 'ERR_WS_BAD_HEADER' });
    expect(wsc.headers({ Authorization: 'Bearer t' })).toBe(true);
    expect(wsc.lastError()).toBeNull();

    const received: Array<string | Buffer> = [];
    const opened = conack(wsc, received);
    expect(wsc.connect()).toBe(true);
    // Before conack: the README's old mistake, now with its reason.
    expect(wsc.send('early')).toBe(false);
    expect(wsc.lastError()).toMatchObject({ code: 'ERR_WS_NOT_OPEN' });
    expect(wsc.lastError()!.message).toContain('conack');
    expect(wsc.connect()).toBe(false);
    expect(wsc.lastError()).toMatchObject({ code: 'ERR_WS_NOT_OPEN' });
    expect(wsc.lastError()!.message).toContain('disconnect');

    await opened;
    expect(wsc.send(Buffer.from([0xff, 0xfe]), 1, 0)).toBe(false);
    expect(wsc.lastError()).toMatchObject({ code: 'ERR_WS_INVALID_UTF8' });
    expect(wsc.send({} as never)).toBe(false);
    expect(wsc.lastError()).toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
    expect(wsc.send('ok')).toBe(true);
    expect(wsc.lastError()).toBeNull();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no echo; got ${JSON.stringify(received)}`)), 10_000);
      const tick = (): void => {
        if (!received.includes('ok')) {
          setTimeout(tick, 10);
          return;
        }
        clearTimeout(t);
        resolve();
      };
      tick();
    });

    wsc.close();
    expect(wsc.send('late')).toBe(false);
    expect(wsc.lastError()).toMatchObject({ code: 'ERR_WS_CLOSED' });
    expect(wsc.connect()).toBe(false);
    expect(wsc.lastError()).toMatchObject({ code: 'ERR_WS_CLOSED' });
  });
});
