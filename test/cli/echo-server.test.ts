import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startEchoServer, type EchoServer } from '../../src/cli/echo-server.js';

let server: EchoServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function next(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

describe('echo server (LuatOS echo protocol)', () => {
  it('/ws/echo returns action=echo JSON unchanged and ignores everything else', async () => {
    server = await startEchoServer();
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const ws = await open(`${server.url}/ws/echo`);
    const got: string[] = [];
    ws.on('message', (d) => got.push(d.toString()));
    ws.send('not json');
    ws.send(JSON.stringify({ action: 'other' }));
    ws.send('[1,2]');
    ws.send(Buffer.from(JSON.stringify({ action: 'echo' })), { binary: true });
    const msg = JSON.stringify({ action: 'echo', device_id: 'x1', n: 'ü' });
    ws.send(msg);
    await new Promise((r) => ws.once('message', r));
    expect(got).toEqual([msg]);
    expect(server.echoed).toBe(1);
    ws.close();
  });

  it('/ws/echo2 echoes text as text and binary as binary', async () => {
    server = await startEchoServer();
    const ws = await open(`${server.url}/ws/echo2/`);
    let p = next(ws);
    ws.send('hello');
    expect(await p).toEqual({ data: Buffer.from('hello'), isBinary: false });
    const bytes = Buffer.from([0, 255, 13, 10, 1]);
    p = next(ws);
    ws.send(bytes, { binary: true });
    expect(await p).toEqual({ data: bytes, isBinary: true });
    ws.close();
  });

  it('closes unknown paths with 4404 and can drop all connections', async () => {
    server = await startEchoServer();
    const ws = await open(`${server.url}/nope`);
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    expect(code).toBe(4404);
    const ws2 = await open(`${server.url}/ws/echo2`);
    const closed = new Promise<number>((r) => ws2.once('close', (c) => r(c)));
    server.dropAll();
    expect(await closed).toBe(1006);
    expect(server.connections).toBe(2);
  });
});
