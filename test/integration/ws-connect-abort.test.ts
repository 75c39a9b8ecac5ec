/**
 * The websocket handshake timeout and close()/terminate() reach the module's connect: the
 * ModemSocket being connected is destroyed (AT+CIPCLOSE, link freed) instead of the attempt waiting
 * out the modem's connectTimeoutMs. The modem's connect timeout is set to ten minutes here, so
 * without the fix every test below would hit vitest's timeout instead of seeing its events.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockModem } from '../../src/mock/index.js';
import type { Modem } from '../../src/modem/index.js';
import { openerConnect, websocket, WebSocketClient } from '../../src/ws/index.js';
import { defer, openModem, recordLuat, until } from './helpers.js';

const BLACK_HOLE = '10.9.9.9';
const NEVER = 600_000;

/** Accepts TCP connections and never says a word (a TLS server that does not answer the hello). */
let silent: net.Server;
let silentPort = 0;
/** Accepts TCP connections and keeps them (to fill every module link). */
let sink: net.Server;
let sinkPort = 0;
const held = new Set<net.Socket>();
beforeAll(async () => {
  const listen = async (s: net.Server): Promise<number> => {
    s.on('connection', (c) => {
      held.add(c);
      c.on('error', () => {});
      c.on('close', () => held.delete(c));
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as net.AddressInfo).port;
  };
  silent = net.createServer();
  silentPort = await listen(silent);
  sink = net.createServer();
  sinkPort = await listen(sink);
});
afterAll(async () => {
  for (const c of held) c.destroy();
  await Promise.all([silent, sink].map((s) => new Promise((r) => s.close(r))));
});

async function blackHoledModem(): Promise<{ modem: Modem; mock: MockModem }> {
  return openModem({ mock: { blackhole: [BLACK_HOLE] }, modem: { connectTimeoutMs: NEVER } });
}

/** The link id of the module's CIPSTART to `host:port`, once it was sent. */
async function startedLink(mock: MockModem, host: string, port: number): Promise<number> {
  const re = new RegExp(`^AT\\+CIPSTART=(\\d),"TCP","${host.replace(/\./g, '\\.')}",${port}$`);
  let link = -1;
  await until(
    () => {
      for (const c of mock.commands()) {
        const m = re.exec(c);
        if (m) link = Number(m[1]);
      }
      return link >= 0;
    },
    20_000,
    `AT+CIPSTART to ${host}:${port}`,
  );
  return link;
}

/** The link was closed on the module, and all six links can be connected again. */
async function expectLinkFreed(modem: Modem, mock: MockModem, link: number): Promise<void> {
  await until(() => mock.commands().includes(`AT+CIPCLOSE=${link}`), 20_000, `AT+CIPCLOSE=${link}`);
  const streams = await Promise.all(
    Array.from({ length: 6 }, () => modem.openStream('127.0.0.1', sinkPort, { timeoutMs: 20_000 })),
  );
  for (const s of streams) defer(() => s.destroy());
  expect(streams).toHaveLength(6);
}

function modemClient(
  modem: Modem,
  url: string,
  handshakeTimeoutMs: number,
): { ws: WebSocketClient; errors: Error[]; closed: Promise<{ code: number }> } {
  const ws = new WebSocketClient(url, { connect: openerConnect(modem), handshakeTimeoutMs, perMessageDeflate: false });
  defer(() => ws.terminate());
  const errors: Error[] = [];
  ws.on('error', (e) => errors.push(e));
  return { ws, errors, closed: ws.closed() };
}

describe('handshake timeout through the module', () => {
  it('a black-holed address fails with ERR_WS_HANDSHAKE_TIMEOUT (not the modem connect timeout) and frees the link', async () => {
    const { modem, mock } = await blackHoledModem();
    const { errors, closed } = modemClient(modem, `ws://${BLACK_HOLE}:8080/x`, 1500);
    const link = await startedLink(mock, BLACK_HOLE, 8080);
    expect((await closed).code).toBe(1006);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['ERR_WS_HANDSHAKE_TIMEOUT']);
    await expectLinkFreed(modem, mock, link);
  });

  it('covers the host TLS handshake over the link (server never answers the hello)', async () => {
    const { modem, mock } = await blackHoledModem();
    const { errors, closed } = modemClient(modem, `wss://127.0.0.1:${silentPort}/x`, 1500);
    const link = await startedLink(mock, '127.0.0.1', silentPort);
    expect((await closed).code).toBe(1006);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['ERR_WS_HANDSHAKE_TIMEOUT']);
    await expectLinkFreed(modem, mock, link);
  });

  it('LuatOS: error("connect") then disconnect, and the link is freed', async () => {
    const { modem, mock } = await blackHoledModem();
    const wsc = websocket.create(modem, `ws://${BLACK_HOLE}:8081/`, { client: { handshakeTimeoutMs: 1500 } })!;
    defer(() => wsc.close());
    const rec = recordLuat(wsc);
    expect(wsc.connect()).toBe(true);
    const link = await startedLink(mock, BLACK_HOLE, 8081);
    await rec.waitFor('disconnect');
    expect(rec.names()).toEqual(['error', 'disconnect']);
    expect(rec.events[0]!.data).toBe('connect');
    expect((rec.events[0]!.payload as { code?: string }).code).toBe('ERR_WS_HANDSHAKE_TIMEOUT');
    await expectLinkFreed(modem, mock, link);
  });
});

describe('close()/terminate() while the module is connecting', () => {
  it.each(['close', 'terminate'] as const)('%s() during CIPSTART closes the link on the module', async (how) => {
    const { modem, mock } = await blackHoledModem();
    const { ws, errors, closed } = modemClient(modem, `ws://${BLACK_HOLE}:8082/`, NEVER);
    const link = await startedLink(mock, BLACK_HOLE, 8082);
    expect(ws.state).toBe('connecting');
    ws[how]();
    expect((await closed).code).toBe(1006);
    await expectLinkFreed(modem, mock, link);
    // Closed on purpose: no error for it.
    expect(errors).toEqual([]);
  });

  it('close() during the host TLS handshake closes the link', async () => {
    const { modem, mock } = await blackHoledModem();
    const { ws, closed } = modemClient(modem, `wss://127.0.0.1:${silentPort}/`, NEVER);
    const link = await startedLink(mock, '127.0.0.1', silentPort);
    // Wait until the link is up and the ClientHello went out (the TLS handshake is under way).
    await until(() => mock.commands().some((c) => c.startsWith(`AT+CIPSEND=${link},`)), 20_000, 'the ClientHello');
    ws.close();
    await closed;
    await expectLinkFreed(modem, mock, link);
  });

  it('LuatOS disconnect() during CIPSTART frees the link', async () => {
    const { modem, mock } = await blackHoledModem();
    const wsc = websocket.create(modem, `ws://${BLACK_HOLE}:8083/`, 60)!;
    defer(() => wsc.close());
    const rec = recordLuat(wsc);
    wsc.connect();
    const link = await startedLink(mock, BLACK_HOLE, 8083);
    wsc.disconnect();
    await rec.waitFor('disconnect');
    await expectLinkFreed(modem, mock, link);
  });
});
