/**
 * Randomized runs over the mock (issue 18's property test): sends, peer data, peer and host
 * closes, refused sends and closes, late prompts, late finals, partial acceptance and a bearer loss
 * reported link by link, interleaved on several links. Each seed replays the same operations.
 *
 * Invariants:
 * - no byte the application wrote is ever run by the module as a command (the data is made of
 *   `AT+ZZINJ<k>\r` lines, which the mock would log as commands);
 * - every byte a socket delivers came from its own peer (each peer sends only its own byte value);
 * - the peer received a prefix of what its socket wrote (filler spaces aside);
 * - a socket reports accepted (`bytesWritten`) no more than the module's `DATA ACCEPT` counts for
 *   its sends;
 * - every socket ends with 'close' within a bounded time, and one that closed without an error
 *   had every written byte accepted.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemSocket } from '../../src/modem/index.js';
import { rng } from '../helpers/rng.js';
import { useEchoServer, waitFor } from './helpers.js';

const { cleanup } = useEchoServer();
const COMMAND_TIMEOUT_MS = 800;

interface Peer {
  server: net.Server;
  conn: net.Socket | undefined;
  received: Buffer[];
  sent: number;
}

interface Slot {
  k: number;
  socket: ModemSocket;
  peer: Peer;
  stream: Buffer;
  written: number;
  delivered: Buffer[];
  errors: string[];
  closed: boolean | undefined;
  ended: boolean;
}

async function startPeer(): Promise<Peer> {
  const peer: Peer = { server: net.createServer(), conn: undefined, received: [], sent: 0 };
  peer.server.on('connection', (c) => {
    peer.conn = c;
    c.on('data', (b: Buffer) => peer.received.push(b));
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => peer.server.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    peer.conn?.destroy();
    await new Promise<void>((r) => peer.server.close(() => r()));
  });
  return peer;
}

/** The application's byte stream of socket `k`: command lines, so that a leak would run. */
function appStream(k: number, bytes: number): Buffer {
  const line = `AT+ZZINJ${k}\r`;
  return Buffer.from(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes), 'latin1');
}

async function run(seed: number, steps: number, rxMode: 'push' | 'pull'): Promise<void> {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[Math.floor(r() * xs.length)] : undefined);
  const mock = new MockModem();
  cleanup.push(() => mock.close());
  const modem = await Modem.open({
    stream: mock.hostStream(),
    reopen: () => mock.hostStream(),
    rxMode,
    syncIntervalMs: 300,
    pollIntervalMs: 50,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    resyncTimeoutMs: 1000,
    recoveryBackoffMs: 100,
    recoveryMaxBackoffMs: 500,
  });
  cleanup.push(() => modem.close());
  const slots: Slot[] = [];
  // What the module said it accepted, per socket: a `DATA ACCEPT:<n>,<count>` belongs to the
  // newest socket on link n (an id is reused only after the module confirmed the old link closed).
  const acceptedByModule = new Map<number, number>();
  modem.at.on('line', (line: string) => {
    const m = /^DATA ACCEPT: ?(\d+), ?(\d+)$/.exec(line);
    if (!m) return;
    const holder = slots.filter((x) => x.socket.link === Number(m[1])).at(-1);
    if (holder) acceptedByModule.set(holder.k, (acceptedByModule.get(holder.k) ?? 0) + Number(m[2]));
  });
  const live = () => slots.filter((s) => s.closed === undefined && !s.ended);
  const open = async (): Promise<void> => {
    const k = slots.length;
    const peer = await startPeer();
    const socket = modem.connect('127.0.0.1', (peer.server.address() as AddressInfo).port, { timeoutMs: 20_000 });
    const slot: Slot = {
      k,
      socket,
      peer,
      stream: appStream(k, 64 * 1024),
      written: 0,
      delivered: [],
      errors: [],
      closed: undefined,
      ended: false,
    };
    socket.on('data', (b: Buffer) => slot.delivered.push(b));
    socket.on('error', (e: Error & { code?: string }) => slot.errors.push(e.code ?? e.message));
    socket.on('close', (hadError: boolean) => (slot.closed = hadError));
    slots.push(slot);
  };
  const weights: Array<[string, number]> = [
    ['write', 30],
    ['peerData', 15],
    ['peerClose', 4],
    ['end', 4],
    ['refuseSend', 5],
    ['refuseClose', 4],
    ['partialAccept', 6],
    ['latePrompt', 2],
    ['lateFinal', 2],
    ['pdpLinksFirst', 1],
  ];
  const total = weights.reduce((a, [, w]) => a + w, 0);
  const nextOp = (): string => {
    let x = r() * total;
    for (const [op, w] of weights) {
      x -= w;
      if (x < 0) return op;
    }
    return 'write';
  };
  for (let step = 0; step < steps; step++) {
    while (live().length < 3) await open();
    const op = nextOp();
    const s = pick(live().filter((x) => x.socket.link >= 0)) ?? live()[0]!;
    switch (op) {
      case 'write': {
        const n = 1 + Math.floor(r() * 3000);
        const chunk = s.stream.subarray(s.written, Math.min(s.stream.length, s.written + n));
        s.written += chunk.length;
        s.socket.write(chunk);
        break;
      }
      case 'peerData': {
        if (!s.peer.conn || s.peer.conn.destroyed) break;
        const n = 1 + Math.floor(r() * 2000);
        s.peer.conn.write(Buffer.alloc(n, s.k & 0xff));
        s.peer.sent += n;
        break;
      }
      case 'peerClose':
        s.peer.conn?.end();
        break;
      case 'end':
        s.ended = true;
        s.socket.end();
        break;
      case 'refuseSend':
        if (s.socket.link >= 0)
          mock.refuseNext(
            `AT+CIPSEND=${s.socket.link},`,
            pick(['+CME ERROR: 50', `${s.socket.link}, SEND FAIL`, '+CME ERROR: 3'])!,
          );
        break;
      case 'refuseClose':
        if (s.socket.link >= 0) mock.refuseNext(`AT+CIPCLOSE=${s.socket.link}`, '+CME ERROR: 50');
        break;
      case 'partialAccept':
        mock.acceptNextPartially(Math.floor(r() * 1000));
        break;
      case 'latePrompt':
        mock.delayNextPrompt(COMMAND_TIMEOUT_MS + 300);
        break;
      case 'lateFinal':
        mock.stall(COMMAND_TIMEOUT_MS + 300);
        break;
      case 'pdpLinksFirst':
        mock.deactivatePdp({ reportLinksFirst: true });
        break;
    }
    await new Promise((res) => setTimeout(res, Math.floor(r() * 60)));
  }
  for (const s of slots) if (s.closed === undefined) s.socket.end();
  await waitFor(() => slots.every((s) => s.closed !== undefined), 60_000, `every socket to close (seed ${seed})`);
  await new Promise((res) => setTimeout(res, 300));

  const leaked = mock.commands().filter((c) => c.includes('ZZINJ'));
  expect(leaked, `seed ${seed}: application bytes run as commands`).toEqual([]);
  for (const s of slots) {
    const what = `seed ${seed}, socket ${s.k} (link ${s.socket.link}, errors ${JSON.stringify(s.errors)}, written ${s.written}, accepted ${s.socket.bytesWritten})`;
    const delivered = Buffer.concat(s.delivered);
    expect(
      delivered.every((b) => b === (s.k & 0xff)),
      `${what}: delivered bytes of another peer`,
    ).toBe(true);
    expect(delivered.length, `${what}: delivered more than its peer sent`).toBeLessThanOrEqual(s.peer.sent);
    const atPeer = Buffer.from(Buffer.concat(s.peer.received).toString('latin1').replace(/ /g, ''), 'latin1');
    expect(
      atPeer.equals(s.stream.subarray(0, atPeer.length)),
      `${what}: the peer got bytes out of order or not written`,
    ).toBe(true);
    expect(s.socket.bytesWritten, `${what}: reported accepted more than the module accepted`).toBeLessThanOrEqual(
      acceptedByModule.get(s.k) ?? 0,
    );
    if (s.closed === false)
      expect(s.socket.bytesWritten, `${what}: closed without an error with bytes not accepted`).toBe(s.written);
    else expect(s.errors.length, `${what}: closed with hadError but no 'error'`).toBeGreaterThan(0);
  }
}

describe('links under randomized faults', () => {
  for (const [seed, rxMode] of [
    [1, 'push'],
    [2, 'push'],
    [3, 'push'],
    [4, 'pull'],
    [5, 'pull'],
  ] as const) {
    it(`seed ${seed}, ${rxMode} mode: no injection, no cross delivery, honest acceptance, every socket closes`, async () => {
      await run(seed, 60, rxMode);
    }, 180_000);
  }
});
