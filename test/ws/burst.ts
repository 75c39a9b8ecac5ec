/**
 * Server-side byte streams for close races: N messages (text, binary, fragmented, optionally
 * compressed per RFC 7692, pings in between), then optionally a close frame. Built with zlib and
 * the test-side frame encoder, independent of src/ws.
 */
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import zlib from 'node:zlib';
import type { WebSocket } from 'ws';
import { WebSocketClient as Client, type WebSocketClientOptions } from '../../src/ws/index.js';
import { rng as prng } from '../helpers/rng.js';
import { startWsEcho, type WsPeer } from './peers.js';
import { closeBody, okResponse, serverFrame, startRawServer, type RawConn, type RawServer } from './raw-server.js';

export interface BurstMessage {
  data: string | Buffer;
  isBinary: boolean;
}

/** One message's compressed payload: a sync-flushed raw deflate stream without its 00 00 FF FF tail. */
function compress(data: Buffer): Buffer {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  if (!out.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))) throw new Error('unexpected deflate tail');
  return out.subarray(0, -4);
}

/**
 * `n` messages as server frames, then the close frame `close` if given. Every 7th message is
 * fragmented in three frames, every 5th is followed by a ping (unless `pings` is false). `corruptLast` replaces the last
 * message's compressed payload with bytes that are not valid deflate data.
 */
export function burst(
  n: number,
  opts: {
    compress: boolean;
    seed: number;
    close?: [number, string];
    small?: boolean;
    corruptLast?: boolean;
    pings?: boolean;
  },
): { bytes: Buffer; messages: BurstMessage[]; close?: [number, string] } {
  const rnd = prng(opts.seed);
  const frames: Buffer[] = [];
  const messages: BurstMessage[] = [];
  for (let i = 0; i < n; i++) {
    const binary = rnd() < 0.3;
    const len = opts.small ? 1 + Math.floor(rnd() * 60) : Math.floor(rnd() * (i % 4 === 0 ? 20_000 : 800));
    let raw: Buffer;
    if (binary) {
      raw = Buffer.alloc(len);
      for (let k = 0; k < len; k++) raw[k] = Math.floor(rnd() * 256);
    } else {
      const words = ['echo', 'line', String(i), 'ünïcode', '€', 'x'];
      let s = `#${i} `;
      while (Buffer.byteLength(s) < len) s += `${words[Math.floor(rnd() * words.length)]} `;
      raw = Buffer.from(s);
    }
    messages.push({ data: binary ? raw : raw.toString('utf8'), isBinary: binary });
    const corrupt = opts.corruptLast && i === n - 1;
    const payload = opts.compress ? (corrupt ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]) : compress(raw)) : raw;
    const rsv = opts.compress ? 4 : 0;
    const op = binary ? 2 : 1;
    if (i % 7 === 3 && payload.length >= 3) {
      const a = Math.floor(payload.length / 3);
      frames.push(serverFrame(op, payload.subarray(0, a), { fin: false, rsv }));
      frames.push(serverFrame(0, payload.subarray(a, 2 * a), { fin: false }));
      frames.push(serverFrame(0, payload.subarray(2 * a), { fin: true }));
    } else frames.push(serverFrame(op, payload, { rsv }));
    if (opts.pings !== false && i % 5 === 4) frames.push(serverFrame(9, `p${i}`));
  }
  if (opts.close) frames.push(serverFrame(8, closeBody(opts.close[0], opts.close[1])));
  return { bytes: Buffer.concat(frames), messages, ...(opts.close ? { close: opts.close } : {}) };
}

/** Comparable form: type, length and SHA-256 of each message (readable diffs, no megabyte dumps). */
export function digest(messages: BurstMessage[]): string[] {
  return messages.map((m) => {
    const b = typeof m.data === 'string' ? Buffer.from(m.data) : m.data;
    return `${m.isBinary ? 'bin' : typeof m.data === 'string' ? 'text' : 'text-as-buffer'} ${b.length} ${createHash('sha256').update(b).digest('hex').slice(0, 16)}`;
  });
}

/** Ways to cut `bytes`: whole, halves, random splits (seeded), and optionally byte by byte. */
export function chunkings(bytes: Buffer, seed: number, opts: { byteByByte?: boolean } = {}): Buffer[][] {
  const rnd = prng(seed);
  const out: Buffer[][] = [[bytes]];
  const half = Math.floor(bytes.length / 2);
  out.push([bytes.subarray(0, half), bytes.subarray(half)]);
  for (let r = 0; r < 3; r++) {
    const cuts = new Set<number>();
    const count = 2 + Math.floor(rnd() * 12);
    while (cuts.size < count) cuts.add(1 + Math.floor(rnd() * (bytes.length - 1)));
    const sorted = [...cuts].sort((a, b) => a - b);
    const pieces: Buffer[] = [];
    let at = 0;
    for (const c of sorted) {
      pieces.push(bytes.subarray(at, c));
      at = c;
    }
    pieces.push(bytes.subarray(at));
    out.push(pieces);
  }
  if (opts.byteByByte) out.push(Array.from({ length: bytes.length }, (_, k) => bytes.subarray(k, k + 1)));
  return out;
}

/**
 * Sends `count` text lines on an open deflate client, closes, and checks that every echo came back
 * in order before a clean 1000 close, with no error.
 */
export async function echoLinesThenClose(client: Client, count: number, label: string): Promise<void> {
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  const got: string[] = [];
  client.on('message', (d) => got.push(String(d)));
  await client.opened();
  expect(client.extensions).toBe('permessage-deflate');
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    const line = `line ${i} ${randomBytes(4 + (i % 40)).toString('hex')}`;
    sent.push(line);
    client.send(line);
  }
  const closed = client.closed();
  client.close();
  expect(await closed, `${label}: ${got.length} echoes`).toEqual({ code: 1000, reason: '', wasClean: true });
  expect(got).toEqual(sent);
  expect(errors).toEqual([]);
}

/** The close-burst peers: raw servers that accept with and without permessage-deflate, and a ws echo that compresses every echo. */
export interface BurstPeers {
  rawDeflate: RawServer;
  rawPlain: RawServer;
  wsEcho: WsPeer;
  close(): Promise<void>;
}

export async function startBurstPeers(): Promise<BurstPeers> {
  const [rawDeflate, rawPlain, wsEcho] = await Promise.all([
    startRawServer((key) => okResponse(key, ['Sec-WebSocket-Extensions: permessage-deflate'])),
    startRawServer(),
    // Compresses every echo (threshold 0), as a deflate echo server in the field does.
    startWsEcho({ perMessageDeflate: { threshold: 0 } }, undefined, (ws: WebSocket) => {
      ws.on('message', (d: Buffer, isBinary) => ws.send(d, { binary: isBinary }));
    }),
  ]);
  return {
    rawDeflate,
    rawPlain,
    wsEcho,
    close: async () => {
      await Promise.all([rawDeflate.close(), rawPlain.close(), wsEcho.close()]);
    },
  };
}

/**
 * A client to `server` collecting messages and errors; resolves once open (with the extension
 * `perMessageDeflate` asks for) with its server-side connection.
 */
export async function openCollecting(
  server: RawServer,
  options: WebSocketClientOptions & { perMessageDeflate: boolean },
) {
  const client = new Client(`ws://127.0.0.1:${server.port}/`, options);
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  const got: BurstMessage[] = [];
  client.on('message', (d, isBinary) => got.push({ data: d, isBinary }));
  const conn: RawConn = await server.next();
  await client.opened();
  expect(client.extensions).toBe(options.perMessageDeflate ? 'permessage-deflate' : '');
  return { client, conn, got, errors, closed: client.closed() };
}
