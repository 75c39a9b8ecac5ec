/**
 * The LuatOS `websocket` API through the modem driver and the mock module: events, `sent` on the
 * peer's TCP acknowledgement (AT+CIPACK), autoreconn across a module reboot, a lost bearer and a
 * peer close, keepalive against a server that stops answering pings, and `websocket.create(null)`
 * resolving to `Modem.default`.
 */
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { MockModem } from '../../src/mock/index.js';
import { Modem } from '../../src/modem/index.js';
import { hostAdapter, websocket, type LuatWebSocket } from '../../src/ws/index.js';
import {
  defer,
  expectThroughModule,
  openModem,
  recordLuat,
  startWsEcho,
  until,
  type LuatRecord,
  type WsPeer,
} from './helpers.js';

/** Echo server that also logs what it received, per connection. */
let peer: WsPeer;
const received: string[] = [];
beforeAll(async () => {
  peer = await startWsEcho({}, undefined, (ws: WebSocket) => {
    ws.on('message', (data: Buffer, isBinary) => {
      received.push(isBinary ? `bin:${data.length}` : data.toString());
      ws.send(data, { binary: isBinary });
    });
  });
});
afterAll(async () => {
  await peer.close();
});

function create(adapter: Parameters<typeof websocket.create>[0], path: string, keepalive = 60): LuatWebSocket {
  const wsc = websocket.create(adapter, `ws://127.0.0.1:${peer.port}${path}`, keepalive);
  expect(wsc).not.toBeNull();
  defer(() => wsc!.close());
  return wsc!;
}

/** The link the module has connected (the websocket's). */
function connectedLink(mock: MockModem): number {
  for (let n = 0; n < 6; n++) if (/CONNECTED/.test(mock.linkState(n) ?? '')) return n;
  throw new Error(`no connected link: ${[0, 1, 2, 3, 4, 5].map((n) => mock.linkState(n)).join(',')}`);
}

/**
 * Asserts the LuatOS events after a fault: error(s)/disconnect(s) and then one conack, with the
 * reconnect interval respected between each disconnect and the next connection.
 */
function expectReconnected(after: LuatRecord[], intervalMs: number, firstError: boolean): void {
  const names = after.map((e) => e.event);
  expect(names.at(-1)).toBe('conack');
  expect(names.filter((n) => n === 'conack')).toHaveLength(1);
  if (firstError) expect(names.slice(0, 2)).toEqual(['error', 'disconnect']);
  else expect(names[0]).toBe('disconnect');
  // Only failed attempts (error, disconnect) in between.
  expect(names.slice(0, -1).every((n) => n === 'error' || n === 'disconnect')).toBe(true);
  const lastDisconnect = after.filter((e) => e.event === 'disconnect').at(-1)!;
  // Timers may fire a little early on a loaded machine: allow 50 ms.
  expect(after.at(-1)!.at - lastDisconnect.at).toBeGreaterThanOrEqual(intervalMs - 50);
}

describe('websocket.create(modem, url, keepalive) through the module', () => {
  it('conack, recv of text and binary, and sent after the peer acknowledged (AT+CIPACK)', async () => {
    const { modem, mock } = await openModem({ rxMode: 'pull' });
    const wsc = create(modem, '/luat?x=1', 60);
    // At each `sent`, the module has already reported the bytes as acknowledged.
    const ackedAtSent: number[] = [];
    const sentAtSent: number[] = [];
    const rec = recordLuat(wsc, (event) => {
      if (event !== 'sent') return;
      const acks = mock.transcript.filter((e) => e.kind === 'sent' && /\+CIPACK: \d+,\d+,\d+/.test(e.text));
      const last = /\+CIPACK: (\d+),(\d+),(\d+)/.exec(acks.at(-1)?.text ?? '');
      ackedAtSent.push(last ? Number(last[2]) : -1);
      // Everything the host has handed to the module so far (handshake included).
      sentAtSent.push(mock.commands().reduce((sum, c) => sum + Number(/^AT\+CIPSEND=\d,(\d+)$/.exec(c)?.[1] ?? 0), 0));
    });
    expect(wsc.ready()).toBe(false);
    expect(wsc.send('too early')).toBe(false);
    expect(wsc.connect()).toBe(true);
    await rec.waitFor('conack');
    expect(wsc.ready()).toBe(true);
    expectThroughModule(mock, peer.port, 'pull');
    expect(peer.requests.at(-1)?.url).toBe('/luat?x=1');

    const bytesBefore = wsc.client.bufferedAmount;
    expect(bytesBefore).toBe(0);
    expect(wsc.send(JSON.stringify({ action: 'echo', n: 1 }))).toBe(true);
    await rec.waitFor('sent', 1);
    await rec.waitFor('recv', 1);
    expect(wsc.send(Buffer.from([0, 1, 2, 255]), 1, 1)).toBe(true);
    // One text message in three frames.
    expect(wsc.send('12', 0)).toBe(true);
    expect(wsc.send('34', 0)).toBe(true);
    expect(wsc.send('56', 1)).toBe(true);
    await rec.waitFor('recv', 3);
    await rec.waitFor('sent', 5);
    const recvs = rec.events.filter((e) => e.event === 'recv');
    expect(recvs.map((e) => e.data)).toEqual(['{"action":"echo","n":1}', Buffer.from([0, 1, 2, 255]), '123456']);
    expect(recvs.map((e) => e.payload)).toEqual([
      { fin: 1, opcode: 1 },
      { fin: 1, opcode: 2 },
      { fin: 1, opcode: 1 },
    ]);
    expect(mock.commands().some((c) => /^AT\+CIPACK=\d$/.test(c))).toBe(true);
    // The first message was alone on the link: at its `sent`, the module had reported every byte
    // (handshake + frame) acknowledged. Later ones: the acknowledged count only grows.
    expect(ackedAtSent).toHaveLength(5);
    expect(ackedAtSent[0]).toBe(sentAtSent[0]);
    expect(ackedAtSent[0]).toBeGreaterThan(200);
    for (let i = 1; i < ackedAtSent.length; i++) expect(ackedAtSent[i]).toBeGreaterThanOrEqual(ackedAtSent[i - 1]!);
    wsc.disconnect();
    await rec.waitFor('disconnect');
    expect(wsc.ready()).toBe(false);
  });
});

describe.each([
  ['module reboot (applyFault reboot)', (mock: MockModem) => mock.applyFault('reboot 50'), 'reboot'],
  ['+PDP: DEACT', (mock: MockModem) => mock.deactivatePdp(), 'pdp'],
  ['peer close of the link', (mock: MockModem) => mock.closePeer(connectedLink(mock)), null],
] as const)('autoreconn across a %s', (_name, fault, recovery) => {
  // Every fault drops the link without a close handshake: error("connect") comes first, as on the firmware.
  it('error → disconnect → (interval) → conack, and messages sent afterwards arrive', async () => {
    const { modem, mock } = await openModem({ rxMode: 'push', mock: { quirks: ['echo-after-reboot'] } });
    const wsc = create(modem, `/reconnect-${Math.random().toString(36).slice(2)}`, 60);
    const rec = recordLuat(wsc);
    wsc.autoreconn(true, 1000);
    wsc.connect();
    await rec.waitFor('conack');
    wsc.send('before');
    await rec.waitFor('recv');
    const mark = rec.events.length;
    const recoveries: string[] = [];
    modem.on('recovering', (reason: string) => recoveries.push(reason));
    fault(mock);
    await rec.waitFor('conack', 2, 20_000);
    const after = rec.events.slice(mark);
    expectReconnected(after, 1000, true);
    expect(recoveries).toEqual(recovery ? [recovery] : []);
    expect(after[0]!.data).toBe('connect');
    expect(after[0]!.payload).toMatchObject(
      recovery ? { code: 'ERR_WS_CLOSED', cause: { code: 'ERR_MODEM_RESET' } } : { code: 'ERR_WS_CLOSED' },
    );
    expect(wsc.ready()).toBe(true);
    const tag = `after-${Date.now()}`;
    expect(wsc.send(tag)).toBe(true);
    await until(
      () => rec.events.some((e) => e.event === 'recv' && e.data === tag),
      10_000,
      'the echo of the message sent after the reconnect',
    );
    expect(received).toContain(tag);
    expect(modem.state).toBe('online');
    // Both connections went through the module.
    expect(mock.commands().filter((c) => c.startsWith('AT+CIPSTART=')).length).toBeGreaterThanOrEqual(1);
    expectThroughModule(mock, peer.port);
  });
});

describe('keepalive through the module', () => {
  it('detects a server that stops answering pings and reconnects through the module', async () => {
    let connections = 0;
    let pingsAnswered = 0;
    const silent = await startWsEcho({ autoPong: false }, undefined, (ws: WebSocket) => {
      const n = ++connections;
      ws.on('message', (d: Buffer, isBinary) => ws.send(d, { binary: isBinary }));
      // The first connection goes quiet: it keeps the TCP link but never answers a ping.
      if (n > 1)
        ws.on('ping', (d: Buffer) => {
          pingsAnswered++;
          ws.pong(d);
        });
    });
    defer(() => silent.close());
    const { modem, mock } = await openModem({ rxMode: 'push' });
    const wsc = websocket.create(modem, `ws://127.0.0.1:${silent.port}/quiet`, 1)!;
    defer(() => wsc.close());
    const rec = recordLuat(wsc);
    wsc.autoreconn(true, 1000);
    wsc.connect();
    await rec.waitFor('conack');
    const mark = rec.events.length;
    await rec.waitFor('conack', 2, 20_000);
    const after = rec.events.slice(mark);
    expectReconnected(after, 1000, true);
    expect(after[0]!.data).toBe('rx');
    expect(after[0]!.payload).toMatchObject({ code: 'ERR_WS_PONG_TIMEOUT' });
    expect(connections).toBe(2);
    expect(
      mock.commands().filter((c) => new RegExp(`^AT\\+CIPSTART=\\d,"TCP","127\\.0\\.0\\.1",${silent.port}$`).test(c)),
    ).toHaveLength(2);
    // The new connection answers: pings keep it alive over several keepalive periods.
    await until(() => pingsAnswered >= 2, 10_000, 'two answered keepalive pings');
    expect(rec.events.slice(mark + after.length).map((e) => e.event)).toEqual([]);
    expect(wsc.ready()).toBe(true);
  });
});

describe('websocket.create(null, ...) and the default modem', () => {
  it('goes through Modem.default (the most recently opened module), also one opened after create()', async () => {
    await Modem.default?.close();
    const wsc = create(null, '/default', 60);
    const rec = recordLuat(wsc);
    const { modem, mock } = await openModem({ rxMode: 'push' });
    expect(Modem.default).toBe(modem);
    wsc.connect();
    await rec.waitFor('conack');
    expectThroughModule(mock, peer.port);
    wsc.send('via default');
    const [r] = await rec.waitFor('recv');
    expect(r!.data).toBe('via default');
    // A LuatOS adapter number means the default module too.
    const byNumber = create(1, '/by-number', 60);
    const rec2 = recordLuat(byNumber);
    mock.clearTranscript();
    byNumber.connect();
    await rec2.waitFor('conack');
    expectThroughModule(mock, peer.port);
  });

  it('with no module open, connect() reports ERR_WS_NO_ADAPTER and never uses the host network', async () => {
    await Modem.default?.close();
    expect(Modem.default).toBeUndefined();
    const before = peer.requests.length;
    const wsc = create(null, '/nobody', 60);
    const rec = recordLuat(wsc);
    expect(wsc.connect()).toBe(true);
    await rec.waitFor('disconnect');
    expect(rec.names()).toEqual(['error', 'disconnect']);
    expect(rec.events[0]!.data).toBe('connect');
    const err = rec.events[0]!.payload as Error & { code?: string };
    expect(err.code).toBe('ERR_WS_NO_ADAPTER');
    expect(err.message).toMatch(/Modem\.open\(\)/);
    expect(wsc.ready()).toBe(false);
    expect(peer.requests.length).toBe(before);
  });

  it("the host network only when asked for: adapter 'host' (hostAdapter)", async () => {
    await Modem.default?.close();
    const before = peer.requests.length;
    const wsc = create(hostAdapter, '/host', 60);
    const rec = recordLuat(wsc);
    wsc.connect();
    await rec.waitFor('conack');
    expect(peer.requests.length).toBe(before + 1);
    expect((peer.requests.at(-1) as http.IncomingMessage).url).toBe('/host');
  });
});
