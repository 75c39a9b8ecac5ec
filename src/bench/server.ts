/**
 * The benchmark's websocket server, run in its own process (forked by the runner) so that its CPU
 * time is not counted as the host path's.
 *
 * Routes:
 * - `/ws/echo2`: every message back as it came.
 * - `/bench/sink`: counts the payload bytes of every binary message; a text message `report`
 *   is answered with `{"bytes":N,"messages":M}`.
 * - `/bench/source`: a text message `{"bytes":N,"size":S,"kind":"random"|"json"}` makes it send
 *   N payload bytes in messages of S bytes (binary random bytes, or JSON text), respecting
 *   backpressure, then a text message `end`.
 *
 * Started as a child: prints nothing, sends `{ port, rawPort }` over IPC, exits when the parent
 * disconnects. `rawPort` is a plain TCP peer for the AT floor measurement (see {@link startRawPeer}).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { echoAsIs } from '../cli/echo-server.js';

/**
 * A JSON text of exactly `size` bytes that compresses like real telemetry: field names repeat,
 * values are pseudo-random (seeded by `seq`, so runs are reproducible).
 */
export function jsonPayload(size: number, seq: number): string {
  let x = (seq * 2654435761 + 1) >>> 0;
  const rnd = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
  const head = `{"seq":${seq},"device":"air780-bench","readings":[`;
  let body = '';
  let i = 0;
  for (;;) {
    const item = `${i ? ',' : ''}{"t":${1_700_000_000 + seq * 1000 + i},"temp":${(15 + rnd() * 20).toFixed(3)},"rh":${(rnd() * 100).toFixed(2)},"id":"${Math.floor(rnd() * 0xffffff).toString(16)}"}`;
    if (head.length + body.length + item.length + 12 > size) break;
    body += item;
    i++;
  }
  const text = `${head}${body}],"pad":"`;
  return `${text}${'x'.repeat(Math.max(0, size - text.length - 2))}"}`;
}

function source(ws: WebSocket, total: number, size: number, kind: string): void {
  let sent = 0;
  let seq = 0;
  const block = randomBytes(size);
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(size, total - sent);
      sent += n;
      const data = kind === 'json' ? jsonPayload(n, seq++) : block.subarray(0, n);
      // Keep at most ~1 MiB queued so a slow path sees real backpressure, not a huge buffer.
      if (ws.bufferedAmount > 1 << 20) {
        ws.send(data, { binary: kind !== 'json' }, () => pump());
        return;
      }
      ws.send(data, { binary: kind !== 'json' });
    }
    ws.send('end');
  };
  pump();
}

/** Starts the server on 127.0.0.1; resolves with its port and a close function. */
export async function startBenchServer(
  options: { perMessageDeflate?: boolean } = {},
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer();
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: options.perMessageDeflate ?? true,
    maxPayload: 64 << 20,
  });
  wss.on('connection', (ws, req) => {
    ws.on('error', () => ws.terminate());
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/ws/echo2') {
      echoAsIs(ws);
    } else if (path === '/bench/sink') {
      let bytes = 0;
      let messages = 0;
      ws.on('message', (data, isBinary) => {
        const buf = data as Buffer;
        if (!isBinary && buf.toString() === 'report') {
          ws.send(JSON.stringify({ bytes, messages }));
          return;
        }
        bytes += buf.length;
        messages++;
      });
    } else if (path === '/bench/source') {
      ws.on('message', (data) => {
        try {
          const req = JSON.parse((data as Buffer).toString()) as { bytes: number; size: number; kind?: string };
          source(ws, req.bytes, req.size, req.kind ?? 'random');
        } catch {
          ws.close(1003, 'bad request');
        }
      });
    } else {
      ws.close(4404, 'unknown path');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

/**
 * A plain TCP peer: the first line a client sends chooses the role. `sink` discards everything
 * after it; `source <n>` sends n bytes (respecting backpressure) and closes.
 */
export async function startRawPeer(): Promise<{ port: number; close(): Promise<void> }> {
  const block = randomBytes(64 * 1024);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      const nl = head.indexOf('\n');
      if (nl < 0) {
        if (head.length > 64) s.destroy();
        return;
      }
      s.off('data', onData);
      const m = /^source (\d+)$/.exec(head.slice(0, nl));
      if (!m) {
        s.resume(); // sink
        return;
      }
      let left = Number(m[1]);
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, block.length);
          left -= n;
          if (!s.write(block.subarray(0, n))) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    };
    s.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// Run as a forked child: report the ports, stop with the parent.
if (process.send && process.argv[2] === '--child') {
  const s = await startBenchServer();
  const raw = await startRawPeer();
  process.send({ port: s.port, rawPort: raw.port });
  process.on('disconnect', () => void Promise.all([s.close(), raw.close()]).then(() => process.exit(0)));
}
