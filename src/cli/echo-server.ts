/**
 * A local websocket server that speaks the LuatOS echo service's protocol
 * (`tools/ws_echo_server.py` in openLuat/LuatOS, the stand-in for wstest.luatos.com):
 *
 * - `/ws/echo`: text frames holding a JSON object with `"action": "echo"` come back unchanged;
 *   anything else (binary, not JSON, another action) is ignored, as the real service does.
 * - `/ws/echo2`: every message comes back as it came, text as text, binary as binary.
 * - any other path: closed with 4404 "unknown path".
 *
 * Used by `air780 demo` when no hardware is given, and by the tests and benchmarks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface EchoServerOptions {
  /** Default 127.0.0.1: the demo never listens beyond this machine. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Offer permessage-deflate (default false). */
  perMessageDeflate?: boolean;
  /** Largest message accepted (default 16 MiB). */
  maxPayload?: number;
}

export interface EchoServer {
  readonly port: number;
  /** `ws://127.0.0.1:<port>` */
  readonly url: string;
  /** Messages echoed so far (both paths). */
  readonly echoed: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Drops every open connection without a close handshake (to show a reconnect). */
  dropAll(): void;
  close(): Promise<void>;
}

function isEchoRequest(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      (value as { action?: unknown }).action === 'echo'
    );
  } catch {
    return false;
  }
}

/**
 * Makes `ws` an `/ws/echo2` peer: every message goes back as it came, text as text, binary as
 * binary. `onEcho` runs before each echo (for counting). Shared with the benchmark server.
 */
export function echoAsIs(ws: WebSocket, onEcho?: () => void): void {
  ws.on('message', (data, isBinary) => {
    onEcho?.();
    ws.send(data, { binary: isBinary });
  });
}

/** Starts the echo server; resolves once it listens. */
export async function startEchoServer(options: EchoServerOptions = {}): Promise<EchoServer> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('websocket only: /ws/echo, /ws/echo2\n');
  });
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
  });
  const sockets = new Set<WebSocket>();
  let echoed = 0;
  let connections = 0;

  wss.on('connection', (ws, req) => {
    connections++;
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => ws.terminate());
    const path = (req.url ?? '/').split('?', 1)[0]!.replace(/\/+$/, '') || '/';
    if (path === '/ws/echo') {
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const text = data.toString();
        if (!isEchoRequest(text)) return;
        echoed++;
        ws.send(text);
      });
    } else if (path === '/ws/echo2') {
      echoAsIs(ws, () => echoed++);
    } else {
      ws.close(4404, 'unknown path');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `ws://${host}:${port}`,
    get echoed() {
      return echoed;
    },
    get connections() {
      return connections;
    },
    dropAll() {
      for (const ws of sockets) ws.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
