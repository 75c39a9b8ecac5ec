import { createHash } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** A frame sent by the client, decoded by this test-side parser (independent of src/ws). */
export interface ClientFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Encodes a server frame (unmasked unless `mask` is given), with optional forced length form. */
export function serverFrame(
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  opts: { fin?: boolean; rsv?: number; mask?: Buffer; lengthForm?: 7 | 16 | 64 } = {},
): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const form = opts.lengthForm ?? (p.length < 126 ? 7 : p.length < 65536 ? 16 : 64);
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
  const m = opts.mask ? 0x80 : 0;
  if (form === 7) head.push(m | p.length);
  else if (form === 16) head.push(m | 126, p.length >> 8, p.length & 0xff);
  else {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(p.length));
    head.push(m | 127, ...b);
  }
  let body = p;
  if (opts.mask) {
    head.push(...opts.mask);
    body = Buffer.from(p.map((x, i) => x ^ opts.mask![i & 3]!));
  }
  return Buffer.concat([Buffer.from(head), body]);
}

export function closeBody(code: number, reason: string | Buffer = ''): Buffer {
  const r = typeof reason === 'string' ? Buffer.from(reason) : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code);
  r.copy(b, 2);
  return b;
}

/** One accepted connection, after the handshake. */
export class RawConn {
  readonly frames: ClientFrame[] = [];
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  /** True once the client half-closed or closed the TCP connection. */
  clientEnded = false;
  closed: Promise<void>;
  constructor(
    readonly socket: net.Socket,
    readonly request: string,
  ) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('end', () => {
      this.clientEnded = true;
      this.wake();
    });
    this.closed = new Promise((r) =>
      socket.on('close', () => {
        this.clientEnded = true;
        this.wake();
        r();
      }),
    );
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private parse(): void {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b[1]! & 0x80) !== 0;
      const key = masked ? b.subarray(off, off + 4) : null;
      if (masked) off += 4;
      if (b.length < off + len) return;
      const payload = Buffer.from(b.subarray(off, off + len));
      if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
      this.frames.push({ fin: (b[0]! & 0x80) !== 0, rsv: (b[0]! >> 4) & 7, opcode: b[0]! & 0xf, masked, payload });
      this.buf = b.subarray(off + len);
      this.wake();
    }
  }

  /** Waits for the n-th frame (0-based) from the client. */
  async frame(n: number, timeoutMs = 10_000): Promise<ClientFrame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length <= n) {
      if (this.clientEnded) throw new Error(`client ended after ${this.frames.length} frames, wanted #${n}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame #${n} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.frames[n]!;
  }

  /** Resolves when the client sent its FIN (or the connection closed). */
  async ended(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.clientEnded) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the client did not end the connection within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The first close frame from the client. */
  async closeFrame(): Promise<{ code: number | null; reason: string }> {
    for (let i = 0; ; i++) {
      const f = await this.frame(i);
      if (f.opcode === 8)
        return {
          code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null,
          reason: f.payload.subarray(2).toString(),
        };
    }
  }

  /** Sends bytes, optionally chopped into pieces of `chop` bytes with a pause between them. */
  async send(bytes: Buffer, chop = 0): Promise<void> {
    if (!chop) {
      this.socket.write(bytes);
      return;
    }
    for (let i = 0; i < bytes.length; i += chop) {
      this.socket.write(bytes.subarray(i, i + chop));
      await new Promise((r) => setImmediate(r));
    }
  }
}

export interface RawServer {
  port: number;
  conns: RawConn[];
  /** Resolves with the next accepted connection. */
  next(): Promise<RawConn>;
  close(): Promise<void>;
}

/**
 * A net.Server that answers the opening handshake by hand (so tests can craft any answer) and
 * then hands the socket to the test. `respond` builds the response from the request's key.
 */
export async function startRawServer(
  respond: (key: string, request: string) => string | Buffer = (key) => okResponse(key),
): Promise<RawServer> {
  const conns: RawConn[] = [];
  const pending: Array<(c: RawConn) => void> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.removeListener('data', onData);
      const request = head.subarray(0, end).toString('latin1');
      const key = /^sec-websocket-key: *(.*)$/im.exec(request)?.[1]?.trim() ?? '';
      socket.write(respond(key, request));
      const conn = new RawConn(socket, request);
      const rest = head.subarray(end + 4);
      if (rest.length) socket.emit('data', rest);
      conns.push(conn);
      const w = pending.shift();
      if (w) w(conn);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let taken = 0;
  return {
    port: (server.address() as AddressInfo).port,
    conns,
    next: () =>
      new Promise<RawConn>((resolve) => {
        const i = taken++;
        if (conns[i]) resolve(conns[i]!);
        else pending.push(resolve);
      }),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export function acceptKey(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

export function okResponse(key: string, extra: string[] = []): string {
  return [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(key)}`,
    ...extra,
    '',
    '',
  ].join('\r\n');
}
