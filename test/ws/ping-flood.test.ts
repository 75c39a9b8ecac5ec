/**
 * Issue 17 item 4, kept fixed: a server floods pings and never reads its socket. Each ping used to
 * be answered by a pong written whether or not the stream accepted writes, so 4 MiB of empty pings
 * grew the client by hundreds of MB. Now one pong waits (with the latest payload, RFC 6455 §5.5.3)
 * while the stream is backed up, and reading stops until it drains. Crafted server on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { WebSocketClient } from '../../src/ws/index.js';
import { MB, watchMemory } from './memory.js';
import { serverFrame, startRawServer, type RawConn, type RawServer } from './raw-server.js';

let server: RawServer;
beforeAll(async () => {
  server = await startRawServer();
});
afterAll(() => server.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `n` empty pings. */
function pings(n: number): Buffer {
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b[i * 2] = 0x89;
  return b;
}

/**
 * Replaces the raw server's frame list (millions of pongs would swamp it) by a counter: pongs
 * counted, the last pong's payload and every data frame's payload kept.
 */
function countFrames(conn: RawConn) {
  const seen = { pongs: 0, lastPong: '', data: [] as string[] };
  let buf: Buffer = Buffer.alloc(0);
  conn.socket.removeAllListeners('data');
  conn.socket.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    let off = 0;
    for (;;) {
      if (buf.length - off < 2) break;
      let len = buf[off + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        head = 10;
      }
      if (buf.length - off < head + 4 + len) break;
      const key = buf.subarray(off + head, off + head + 4);
      const opcode = buf[off]! & 0x0f;
      if (opcode === 10 || opcode === 1) {
        const p = Buffer.from(buf.subarray(off + head + 4, off + head + 4 + len));
        for (let i = 0; i < p.length; i++) p[i]! ^= key[i & 3]!;
        if (opcode === 10) {
          seen.pongs++;
          seen.lastPong = p.toString();
        } else seen.data.push(p.toString());
      }
      off += head + 4 + len;
    }
    buf = buf.subarray(off);
  });
  return seen;
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  for (let t = 0; t < ms / 20 && !cond(); t++) await sleep(20);
}

describe('a ping flood from a server that does not read', () => {
  it('over TCP: memory stays bounded, and once the server reads the last ping is answered and the connection works', async () => {
    const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 0,
      closeTimeoutMs: 2000,
    });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    let pinged = 0;
    client.on('ping', () => pinged++);
    const messages: string[] = [];
    client.on('message', (d) => messages.push(String(d)));
    const conn = await server.next();
    await client.opened();
    const seen = countFrames(conn);
    conn.socket.pause(); // the server does not read
    const n = 2 * 1024 * 1024; // 4 MiB of empty pings, as in the issue
    const flood = pings(n);
    const watch = watchMemory({ abortAboveBytes: 256 * MB, onAbort: () => client.terminate() });
    conn.socket.write(flood);
    conn.socket.write(serverFrame(9, 'the last ping'));
    conn.socket.write(serverFrame(1, 'after the flood'));
    // Long enough for the old client to read the whole flood and queue a pong per ping.
    await until(() => watch.aborted || messages.length > 0, 3000);
    await sleep(300);
    const peak = watch.peakGrowth;
    console.log(
      `ping flood over TCP: ${pinged} of ${n + 1} pings read while the server did not read, peak growth ${(peak / MB).toFixed(1)} MB (heap + buffers), RSS +${(watch.peakRssGrowth / MB).toFixed(0)} MB`,
    );
    watch.stop();
    expect(watch.aborted, `memory grew past 256 MB (peak ${(peak / MB).toFixed(0)} MB)`).toBe(false);
    expect(peak).toBeLessThan(64 * MB);
    // The server reads again: the client catches up, answers the last ping, and goes on working.
    conn.socket.resume();
    await until(() => messages.length > 0 && seen.lastPong === 'the last ping', 30_000);
    expect(messages).toEqual(['after the flood']);
    expect(pinged).toBe(n + 1);
    expect(seen.lastPong).toBe('the last ping');
    expect(seen.pongs).toBeLessThanOrEqual(n + 1);
    client.send('still alive');
    await until(() => seen.data.length > 0, 5000);
    expect(seen.data).toEqual(['still alive']);
    expect(errors).toEqual([]);
    client.terminate();
  }, 60_000);

  it('over a transport that stops accepting writes: one pong waits with the latest payload, reading stops, both resume on drain', async () => {
    // The client's stream: a net socket behind a gate that withholds write completions while
    // shut, as a link does whose peer does not read (deterministic, unlike kernel buffer sizes).
    let gate: { shut: boolean; held: Array<() => void>; socket: net.Socket; stream: Duplex } | undefined;
    const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 0,
      connect: async (t) => {
        const socket = net.connect(t.port, t.host);
        await once(socket, 'connect');
        const g = { shut: false, held: [] as Array<() => void>, socket, stream: null as unknown as Duplex };
        g.stream = new Duplex({
          writableHighWaterMark: 16 * 1024,
          write(chunk: Buffer, _enc, cb) {
            const go = () => socket.write(chunk, cb);
            if (g.shut) g.held.push(go);
            else go();
          },
          read() {
            socket.resume();
          },
          final(cb) {
            socket.end(cb);
          },
          destroy(err, cb) {
            socket.destroy();
            cb(err);
          },
        });
        socket.on('data', (d) => {
          if (!g.stream.push(d)) socket.pause();
        });
        socket.on('end', () => g.stream.push(null));
        gate = g;
        return g.stream;
      },
    });
    client.on('error', () => {});
    let pinged = 0;
    client.on('ping', () => pinged++);
    const messages: string[] = [];
    client.on('message', (d) => messages.push(String(d)));
    const conn = await server.next();
    await client.opened();
    const seen = countFrames(conn);
    const open = () => {
      gate!.shut = false;
      for (const go of gate!.held.splice(0)) go();
    };
    // Back the transport up with a message of our own.
    gate!.shut = true;
    client.send(Buffer.alloc(64 * 1024, 1));
    expect(gate!.stream.writableNeedDrain).toBe(true);
    // 11 pings while backed up: one pong waits, with the latest payload.
    conn.socket.write(Buffer.concat([pings(10), serverFrame(9, 'latest')]));
    await until(() => pinged === 11, 5000);
    expect(pinged).toBe(11);
    expect(gate!.stream.writableLength).toBeLessThan(64 * 1024 + 1024);
    open();
    await until(() => seen.pongs > 0 && seen.data.length === 0, 5000);
    await sleep(100);
    expect(seen.pongs).toBe(1);
    expect(seen.lastPong).toBe('latest');

    // Backed up again, then a flood: reading stops after a few dozen pings, not 100 000.
    gate!.shut = true;
    client.send(Buffer.alloc(64 * 1024, 2));
    const n = 100_000;
    conn.socket.write(pings(n));
    conn.socket.write(serverFrame(1, 'after the pings'));
    await sleep(500);
    expect(pinged - 11).toBeGreaterThanOrEqual(16);
    expect(pinged - 11).toBeLessThan(1000);
    expect(gate!.stream.writableLength).toBeLessThan(64 * 1024 + 1024);
    open();
    await until(() => messages.length > 0, 10_000);
    expect(messages).toEqual(['after the pings']);
    expect(pinged).toBe(11 + n);
    await sleep(200);
    expect(seen.pongs).toBeGreaterThan(1);
    expect(seen.pongs).toBeLessThan(n);
    expect(seen.lastPong).toBe('');
    client.terminate();
  }, 60_000);
});
