/**
 * Received blocks cut or misaligned on the serial line (issue 15), end to end: a mock module at
 * 115200 baud with 2 ms latency streams a known byte pattern down to the driver while it reboots
 * mid-block (power loss: output stops at once) or while bytes are dropped from / added to a block.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockModem, type MockModemOptions } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions, type ModemSocket } from '../../src/modem/index.js';
import { echoThrough, firstEvent, useEchoServer, waitFor } from './helpers.js';

const BAUD = 115200;
const REBOOT_MS = 1000;
const FAST: ModemOpenOptions = {
  syncIntervalMs: 300,
  pollIntervalMs: 50,
  commandTimeoutMs: 3000,
  recoveryBackoffMs: 100,
  recoveryMaxBackoffMs: 500,
  resyncTimeoutMs: 600,
  baudRate: BAUD,
};

/** Byte k of every stream the source server sends. */
const patternByte = (k: number): number => (k * 7 + (k >> 8)) & 0xff;
function pattern(from: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = patternByte(from + i);
  return b;
}

/**
 * A TCP server that streams the pattern down each connection until it closes, 1000 bytes every
 * 250 ms: two links stay below the 115200 line rate, so commands are not queued behind seconds of
 * data on the simulated line.
 */
let source: Server;
let sourcePort = 0;
const conns = new Set<Socket>();
beforeAll(async () => {
  source = createServer((c: Socket) => {
    conns.add(c);
    let off = 0;
    c.on('error', () => undefined);
    const t = setInterval(() => {
      if (c.writableLength > 8192) return;
      c.write(pattern(off, 1000));
      off += 1000;
    }, 250);
    c.on('close', () => {
      clearInterval(t);
      conns.delete(c);
    });
  });
  source.listen(0, '127.0.0.1');
  await once(source, 'listening');
  sourcePort = (source.address() as { port: number }).port;
});
afterAll(async () => {
  for (const c of conns) c.destroy();
  await new Promise((r) => source.close(r));
});

const bed = useEchoServer();
const { cleanup } = bed;

async function open(
  rxMode: 'push' | 'pull',
  echo: 'on' | 'off',
  mockOpts: MockModemOptions = {},
): Promise<{ mock: MockModem; modem: Modem; wire: Duplex }> {
  const mock = new MockModem({ baudRate: BAUD, latencyMs: 2, rebootDelayMs: REBOOT_MS, ...mockOpts });
  cleanup.push(() => mock.close());
  if (echo === 'off') {
    // Echo saved off: after a reboot the module echoes nothing.
    const raw = mock.hostStream();
    let text = '';
    raw.on('data', (d: Buffer) => (text += d.toString('latin1')));
    raw.write('ATE0\rAT&W\r');
    await waitFor(() => (text.match(/OK/g) ?? []).length >= 2, 5000, 'ATE0 and AT&W');
  }
  const wire = mock.hostStream();
  const modem = await Modem.open({ stream: wire, reopen: () => mock.hostStream(), ...FAST, rxMode });
  cleanup.push(() => modem.close());
  return { mock, modem, wire };
}

/** A socket receiving the source stream; `got()` is everything it delivered so far. */
async function receiving(
  modem: Modem,
): Promise<{ s: ModemSocket; got: () => Buffer; ended: Promise<{ name: string; args: unknown[] }> }> {
  const s = modem.connect('127.0.0.1', sourcePort);
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  const ended = firstEvent(s, ['error', 'close'], 60_000);
  await once(s, 'connect');
  return { s, got: () => Buffer.concat(parts), ended };
}

/** Delivered bytes are the true stream, with nothing from elsewhere. */
function expectPatternPrefix(got: Buffer): void {
  expect(got.equals(pattern(0, got.length))).toBe(true);
}

/** Calls `act` synchronously when a chunk holds the start of a block (`header`) but not all of it. */
function midBlock(wire: Duplex, header: RegExp, act: () => void): Promise<void> {
  return new Promise((resolve) => {
    let tail = ''; // a header may be split over chunks
    const onData = (d: Buffer): void => {
      const text = tail + d.toString('latin1');
      tail = text.slice(-48);
      const m = header.exec(text);
      if (!m) return;
      if (text.length - (m.index + m[0].length) >= Number(m[1])) return;
      wire.off('data', onData);
      act();
      resolve();
    };
    wire.on('data', onData);
  });
}

const HEADER = { push: /\+RECEIVE,\d,(\d+):\r\n/, pull: /\+CIPRXGET: 2,\d,(\d+),\d+\r\n/ };

async function worksAgain(modem: Modem): Promise<void> {
  await waitFor(() => modem.state === 'online', 20_000, 'online again');
  const s = modem.connect('127.0.0.1', bed.echo.port);
  await once(s, 'connect');
  const r = await echoThrough(s, 5000);
  expect(r.received).toBe(r.sent);
  s.destroy();
}

describe.each([
  ['push', 'no command in flight'],
  ['push', 'a command in flight'],
  ['pull', 'a command in flight'],
] as const)('a reboot mid-block (%s, %s)', (rxMode, inflight) => {
  it.each(['on', 'off'] as const)(
    'echo %s: the socket fails with ERR_MODEM_RESET, nothing foreign delivered, online within reboot + 2 s',
    async (echo) => {
      const { mock, modem, wire } = await open(rxMode, echo);
      const rx = await receiving(modem);
      await waitFor(() => rx.got().length >= 3000, 20_000, 'data flowing');
      const cuts: string[] = [];
      modem.at.on('cut', (c: { reason: string }) => cuts.push(c.reason));
      if (inflight === 'a command in flight' && rxMode === 'push') {
        // A send whose final never comes: the command is in flight when the module loses power.
        mock.swallowNextFinal();
        rx.s.write(Buffer.alloc(20, 0x61));
        await waitFor(() => mock.commands().some((c) => c.startsWith('AT+CIPSEND=')), 10_000, 'the CIPSEND');
      }
      let rebootAt = 0;
      await midBlock(wire, HEADER[rxMode], () => {
        rebootAt = performance.now();
        mock.reboot({ cut: true });
      });
      const online = new Promise<number>((resolve) => modem.on('online', () => resolve(performance.now())));
      const end = await rx.ended;
      expect(end.name).toBe('error');
      expect(end.args[0]).toMatchObject({ code: 'ERR_MODEM_RESET' });
      expectPatternPrefix(rx.got());
      expect(rx.got().toString('latin1')).not.toMatch(/RDY|\^MODE|OK\r/);
      const onlineAt = await online;
      expect(onlineAt - rebootAt).toBeLessThan(REBOOT_MS + 2000);
      expect(cuts).toEqual(['silence']);
      await worksAgain(modem);
    },
  );
});

describe.each(['push', 'pull'] as const)('a reset faster than the silence bound (%s)', (rxMode) => {
  it('RDY and the boot output land inside the cut block: the restart is still noticed, ERR_MODEM_RESET, online again', async () => {
    const { mock, modem, wire } = await open(rxMode, 'off', { rebootDelayMs: 30 });
    const rx = await receiving(modem);
    await waitFor(() => rx.got().length >= 3000, 20_000, 'data flowing');
    const recovering = new Promise<string>((resolve) => modem.once('recovering', resolve));
    await midBlock(wire, HEADER[rxMode], () => mock.reboot({ cut: true }));
    const end = await rx.ended;
    expect(end.name).toBe('error');
    expect(end.args[0]).toMatchObject({ code: 'ERR_MODEM_RESET' });
    expectPatternPrefix(rx.got());
    expect(await recovering).toBe('reboot');
    await worksAgain(modem);
  });
});

describe.each(['push', 'pull'] as const)('a block whose bytes disagree with its length (%s)', (rxMode) => {
  it.each([
    ['3 bytes dropped', { drop: 3 }],
    ['5 bytes inserted', { insert: Buffer.from([0x0d, 0x52, 0x44, 0x59, 0x0a]) }],
  ] as const)(
    '%s: that link fails with ERR_DATA_LOST, the other keeps its stream intact, a new socket works',
    async (_what, fault) => {
      const { mock, modem } = await open(rxMode, 'off');
      const a = await receiving(modem);
      const b = await receiving(modem);
      await waitFor(() => a.got().length >= 2000 && b.got().length >= 2000, 20_000, 'data flowing on both');
      mock.corruptNextBlock(fault);
      const first = await Promise.race([a.ended.then(() => a), b.ended.then(() => b)]);
      const other = first === a ? b : a;
      const end = await first.ended;
      expect(end.name).toBe('error');
      expect(end.args[0]).toMatchObject({ code: 'ERR_DATA_LOST' });
      expectPatternPrefix(first.got());
      // The other link goes on receiving its stream intact, and the modem stays online.
      const had = other.got().length;
      await waitFor(() => other.got().length >= had + 5000, 20_000, 'the other link receiving');
      expectPatternPrefix(other.got());
      expect(other.s.destroyed).toBe(false);
      expect(modem.state).toBe('online');
      await worksAgain(modem);
      other.s.destroy();
    },
  );
});

describe('a slow, healthy line', () => {
  it('at 9600 baud the silence rule never fires', async () => {
    const mock = new MockModem({ baudRate: 9600, latencyMs: 2 });
    cleanup.push(() => mock.close());
    const modem = await Modem.open({ stream: mock.hostStream(), ...FAST, baudRate: 9600, rxMode: 'push' });
    cleanup.push(() => modem.close());
    const cuts: unknown[] = [];
    modem.at.on('cut', (c) => cuts.push(c));
    const rx = await receiving(modem);
    await waitFor(() => rx.got().length >= 6000, 30_000, '6000 bytes at 9600 baud');
    expect(cuts).toEqual([]);
    expectPatternPrefix(rx.got());
    expect(rx.s.destroyed).toBe(false);
    rx.s.destroy();
  }, 40_000);
});
