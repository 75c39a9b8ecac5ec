import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { WebSocketClient } from '../../src/ws/index.js';
import { observeWebSocket } from '../../src/observe/index.js';
import { waitFor } from '../modem/helpers.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function echoServer(): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
  return (wss.address() as AddressInfo).port;
}

describe('websocket stats', () => {
  it('counts connects, messages and bytes each way, the ping round trip and the last close', async () => {
    const port = await echoServer();
    const client = new WebSocketClient(`ws://user:pw@127.0.0.1:${port}/feed?token=s3cr3tT0ken`);
    const obs = observeWebSocket(client);
    cleanup.push(() => obs.close());
    expect(obs.stats()).toMatchObject({ connects: 0, messagesOut: 0 });
    client.connect();
    await once(client, 'open');
    const got: unknown[] = [];
    client.on('message', (d) => got.push(d));
    client.send('héllo'); // 6 bytes of UTF-8
    client.send(Buffer.from([1, 2, 3]), { binary: true });
    client.send('ab', { fin: false });
    client.send('c', { fin: true });
    await waitFor(() => got.length === 3, 10_000, 'echoes');
    client.ping();
    await waitFor(() => obs.stats().pingRttMs !== undefined, 10_000, 'pong');
    client.close(1000, 'bye');
    await once(client, 'close');
    const s = obs.stats();
    expect(s).toMatchObject({
      state: 'closed',
      connects: 1,
      reconnects: 0,
      messagesOut: 3,
      bytesOut: 12,
      messagesIn: 3,
      bytesIn: 12,
    });
    expect(s.lastClose).toMatchObject({ code: 1000, reason: 'bye', wasClean: true });
    expect(s.url).toBe(`ws://127.0.0.1:${port}/feed?…`);
    expect(JSON.stringify(s)).not.toMatch(/s3cr3tT0ken|pw@/);
  });

  it('close() restores the client: sends are no longer counted', async () => {
    const port = await echoServer();
    const client = new WebSocketClient(`ws://127.0.0.1:${port}/`);
    const obs = observeWebSocket(client);
    client.connect();
    await once(client, 'open');
    client.send('x');
    obs.close();
    expect(Object.hasOwn(client, 'send')).toBe(false);
    client.send('y');
    expect(obs.stats().messagesOut).toBe(1);
    client.close();
    await once(client, 'close');
  });
});
