/**
 * Issue 11 defect 1 (ws layer): the keepalive's idle and pong deadlines used Date.now(), which
 * steps when NTP sets the clock (boards without an RTC). A forward step gave a false
 * ERR_WS_PONG_TIMEOUT; a backward step hid a dead link for as long as the step. Durations now come
 * from a monotonic clock: these tests step a faked Date.now by ±1 h mid-ping.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketClient } from '../../src/ws/index.js';
import { serverFrame, startRawServer, type RawConn } from './raw-server.js';

const HOUR = 3_600_000;
let offset = 0;
const realNow = Date.now.bind(Date);

afterEach(() => {
  vi.restoreAllMocks();
  offset = 0;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `onPing` for each ping the client sends (polling: RawConn's own waits read Date.now). */
function onPings(conn: RawConn, onPing: (n: number) => void): () => void {
  let seen = 0;
  let pings = 0;
  const t = setInterval(() => {
    for (; seen < conn.frames.length; seen++) if (conn.frames[seen]!.opcode === 9) onPing(++pings);
  }, 5);
  return () => clearInterval(t);
}

describe('keepalive deadlines on a monotonic clock', () => {
  it('a forward clock step while a ping is out is not a pong timeout', async () => {
    const server = await startRawServer();
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 200,
      pongTimeoutMs: 800,
    });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const conn = await server.next();
    await client.opened();
    let answered = 0;
    const stop = onPings(conn, (n) => {
      if (n === 1) offset += HOUR; // NTP sets the clock forward while the ping is out
      // The server answers each ping 150 ms later, well within pongTimeoutMs.
      setTimeout(() => {
        conn.socket.write(serverFrame(10));
        answered++;
      }, 150);
    });
    for (let t = 0; t < 300 && answered < 3 && errors.length === 0; t++) await sleep(20);
    await sleep(100);
    stop();
    expect(errors).toEqual([]);
    expect(answered).toBeGreaterThanOrEqual(3);
    expect(client.state).toBe('open');
    client.terminate();
    await server.close();
  });

  it('a backward clock step does not hide a dead link: the pong timeout still fires on time', async () => {
    const server = await startRawServer();
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 200,
      pongTimeoutMs: 300,
    });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const conn = await server.next();
    await client.opened();
    const closed = client.closed();
    const stop = onPings(conn, (n) => {
      if (n === 1) offset -= HOUR; // NTP sets the clock back; the server never answers
    });
    const ev = await Promise.race([closed, sleep(3000).then(() => null)]);
    stop();
    expect(ev, 'no pong timeout within 3 s of a 300 ms deadline').not.toBeNull();
    expect(ev!.code).toBe(1006);
    expect(errors.map((e) => (e as { code?: string }).code)).toContain('ERR_WS_PONG_TIMEOUT');
    client.terminate();
    await server.close();
  });

  it('a backward clock step before the first ping does not delay it', async () => {
    const server = await startRawServer();
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/`, {
      perMessageDeflate: false,
      keepaliveMs: 200,
    });
    client.on('error', () => {});
    const conn = await server.next();
    await client.opened();
    offset -= HOUR;
    let pinged = false;
    const stop = onPings(conn, () => (pinged = true));
    for (let t = 0; t < 100 && !pinged; t++) await sleep(20);
    stop();
    expect(pinged).toBe(true);
    client.terminate();
    await server.close();
  });
});
