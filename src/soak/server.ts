/**
 * The soak's local peer: a websocket server and a raw TCP server that verify and record every
 * message they get, and send their own sequence-numbered, hashed messages on each connection.
 */
import net from 'node:net';
import createDebug from 'debug';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeBinary, decodeText, encodeBinary, encodeText, frame, FrameReader, type Decoded } from './message.js';
import { Rng } from './rng.js';
import { messageSize, type TrafficShape } from './traffic.js';

const debug = createDebug('air780:soak:server');

/** What the server saw. */
export interface ServerLedger {
  /** client id → seq → times received intact. */
  received: Map<string, Map<number, number>>;
  /** Messages that failed verification, with where and why. */
  corrupt: Array<{ where: string; reason: string }>;
  /** Connections accepted (ws and raw). */
  connections: number;
  /** Messages the server sent (handed to the socket). */
  sent: number;
  bytesIn: number;
  bytesOut: number;
}

export interface SoakServer {
  readonly wsPort: number;
  readonly rawPort: number;
  readonly ledger: ServerLedger;
  /** Stop generating messages (already queued ones still go). */
  stopSending(): void;
  close(): Promise<void>;
}

const MAX_FRAME = 16 * 1024 * 1024;

export async function startSoakServer(options: { seed: number; traffic: TrafficShape }): Promise<SoakServer> {
  const ledger: ServerLedger = { received: new Map(), corrupt: [], connections: 0, sent: 0, bytesIn: 0, bytesOut: 0 };
  const rng = new Rng(options.seed, 1000);
  const { traffic } = options;
  let sending = true;
  const timers = new Set<NodeJS.Timeout>();
  const live = new Set<{ close(): void }>();

  const record = (where: string, d: Decoded, expectId?: string): void => {
    if (!d.ok) {
      ledger.corrupt.push({ where, reason: d.reason });
      debug('corrupt on %s: %s', where, d.reason);
      return;
    }
    if (expectId !== undefined && d.msg.id !== expectId) {
      ledger.corrupt.push({ where, reason: `message of ${d.msg.id} #${d.msg.seq} on ${expectId}'s connection` });
      return;
    }
    let m = ledger.received.get(d.msg.id);
    if (!m) {
      m = new Map();
      ledger.received.set(d.msg.id, m);
    }
    m.set(d.msg.seq, (m.get(d.msg.seq) ?? 0) + 1);
  };

  /** Sends on a timer while `canSend()`; the message stream is drawn from the server's own Rng. */
  const pump = (
    conn: number,
    canSend: () => boolean,
    send: (seq: number, payload: Buffer) => void,
    gone: () => boolean,
  ): void => {
    let seq = 0;
    const tick = (): void => {
      if (gone()) return;
      if (sending && canSend()) {
        const payload = rng.bytes(messageSize(rng, traffic.maxMessage));
        send(seq++, payload);
        ledger.sent++;
      }
      const t = setTimeout(() => {
        timers.delete(t);
        tick();
      }, rng.int(traffic.minIntervalMs, traffic.maxIntervalMs) * 2);
      timers.add(t);
    };
    tick();
    void conn;
  };

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_FRAME, perMessageDeflate: true });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws: WebSocket, req) => {
    const conn = ++ledger.connections;
    const url = new URL(req.url ?? '/', 'http://x');
    const id = url.searchParams.get('id') ?? '?';
    const text = url.searchParams.get('fmt') === 'text';
    const where = `ws ${id} conn ${conn}`;
    let closed = false;
    const handle = { close: () => ws.terminate() };
    live.add(handle);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      ledger.bytesIn += data.length;
      record(where, isBinary ? decodeBinary(data) : decodeText(data.toString('utf8')), id);
    });
    ws.on('error', (err) => debug('%s: %s', where, err.message));
    ws.on('close', () => {
      closed = true;
      live.delete(handle);
    });
    pump(
      conn,
      () => ws.readyState === ws.OPEN && ws.bufferedAmount < traffic.windowBytes,
      (seq, payload) => {
        const m = { id: 'srv', conn, seq, payload };
        const data = text ? encodeText(m) : encodeBinary(m);
        ledger.bytesOut += data.length;
        ws.send(data, { binary: !text });
      },
      () => closed,
    );
  });

  const raw = net.createServer((socket) => {
    const conn = ++ledger.connections;
    const where = `raw conn ${conn}`;
    const reader = new FrameReader(MAX_FRAME);
    let closed = false;
    const handle = { close: () => socket.destroy() };
    live.add(handle);
    socket.on('data', (chunk: Buffer) => {
      ledger.bytesIn += chunk.length;
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        ledger.corrupt.push({ where, reason: (err as Error).message });
        socket.destroy();
        return;
      }
      for (const f of frames) record(where, decodeBinary(f));
    });
    socket.on('error', (err) => debug('%s: %s', where, err.message));
    socket.on('close', () => {
      closed = true;
      live.delete(handle);
      // A frame cut by the connection's end was never acknowledged whole: not a corruption.
      if (reader.pending > 0) debug('%s: %d bytes of an incomplete frame at close', where, reader.pending);
    });
    pump(
      conn,
      () => !socket.destroyed && socket.writable && socket.writableLength < traffic.windowBytes,
      (seq, payload) => {
        const data = frame(encodeBinary({ id: 'srv', conn, seq, payload }));
        ledger.bytesOut += data.length;
        socket.write(data);
      },
      () => closed,
    );
  });
  await new Promise<void>((resolve, reject) => {
    raw.once('error', reject);
    raw.listen(0, '127.0.0.1', () => resolve());
  });

  return {
    wsPort: (wss.address() as net.AddressInfo).port,
    rawPort: (raw.address() as net.AddressInfo).port,
    ledger,
    stopSending() {
      sending = false;
    },
    async close() {
      sending = false;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const h of [...live]) h.close();
      await Promise.all([
        new Promise<void>((r) => wss.close(() => r())),
        new Promise<void>((r) => raw.close(() => r())),
      ]);
    },
  };
}
