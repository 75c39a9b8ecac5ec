import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import { io as ioClient, type Socket } from 'socket.io-client';
import '../../src/index.js';
import { defer, openModem, until } from '../integration/helpers.js';

async function startSocketIo(): Promise<{ port: number; io: Server; connections: () => number }> {
  const server = http.createServer();
  const io = new Server(server, { transports: ['websocket'] });
  let connections = 0;
  io.on('connection', (s) => {
    connections++;
    s.on('ping-me', (payload: unknown, ack: (answer: unknown) => void) => ack({ pong: payload }));
    s.on('shout', (text: string) => s.emit('heard', text.toUpperCase()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  defer(() => new Promise<void>((r) => io.close(() => r())));
  return { port: (server.address() as AddressInfo).port, io, connections: () => connections };
}

function once<T>(socket: Socket, event: string): Promise<T> {
  return new Promise((r) => socket.once(event, (v: T) => r(v)));
}

describe('socket.io-client v4 through an httpAgent (websocket transport)', () => {
  it('events both ways, acknowledgements, and a reconnect after a module reboot', async () => {
    const { modem, mock } = await openModem();
    const srv = await startSocketIo();
    const agent = modem.httpAgent();
    defer(() => agent.destroy());
    const client = ioClient(`http://127.0.0.1:${srv.port}`, {
      transports: ['websocket'],
      agent: agent as unknown as string, // engine.io-client passes it on to ws (typed as string | boolean)
      reconnectionDelay: 200,
      reconnectionDelayMax: 500,
    });
    defer(() => client.close());
    await once(client, 'connect');
    expect(
      mock.commands().some((c) => new RegExp(`^AT\\+CIPSTART=\\d,"TCP","127\\.0\\.0\\.1",${srv.port}$`).test(c)),
    ).toBe(true);

    const heard = once<string>(client, 'heard');
    client.emit('shout', 'hello over cellular');
    expect(await heard).toBe('HELLO OVER CELLULAR');
    const ack = await client.timeout(10_000).emitWithAck('ping-me', { n: 42, blob: 'x'.repeat(30_000) });
    expect(ack).toEqual({ pong: { n: 42, blob: 'x'.repeat(30_000) } });
    const fromServer = once<{ at: number }>(client, 'news');
    srv.io.emit('news', { at: 7 });
    expect(await fromServer).toEqual({ at: 7 });

    const disconnected = once<string>(client, 'disconnect');
    mock.reboot();
    expect(await disconnected).toBe('transport close');
    await until(() => client.connected, 20_000, 'socket.io to reconnect through the module');
    expect(srv.connections()).toBe(2);
    const again = await client.timeout(10_000).emitWithAck('ping-me', 'after reboot');
    expect(again).toEqual({ pong: 'after reboot' });
  });
});
