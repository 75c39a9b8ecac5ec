import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';

/** A `ws` package server on 127.0.0.1 that echoes every message with its type. */
export interface WsPeer {
  port: number;
  wss: WebSocketServer;
  /** Requests as received (for header assertions). */
  requests: http.IncomingMessage[];
  close(): Promise<void>;
}

export async function startWsEcho(
  options: Omit<ServerOptions, 'server' | 'port'> = {},
  tlsOpts?: { cert: string; key: string },
  onConnection?: (ws: WebSocket, req: http.IncomingMessage) => void,
): Promise<WsPeer> {
  const server = tlsOpts ? https.createServer(tlsOpts) : http.createServer();
  const wss = new WebSocketServer({ server, ...options });
  const requests: http.IncomingMessage[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    ws.on('error', () => {});
    if (onConnection) return onConnection(ws, req);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    wss,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

const PY_ECHO = `
import asyncio, sys, websockets
async def echo(ws, path=None):
    try:
        async for m in ws:
            await ws.send(m)
    except websockets.ConnectionClosed:
        pass
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=None, compression=sys.argv[1] if sys.argv[1] != "none" else None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
`;

/** Python `websockets` 10.4 echo server (Debian's python3-websockets), started on 127.0.0.1:0. */
export async function startPythonEcho(
  compression: 'deflate' | 'none' = 'deflate',
): Promise<{ port: number; close(): Promise<void> }> {
  const child: ChildProcess = spawn('/usr/bin/python3', ['-c', PY_ECHO, compression], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`python echo server did not start: ${stderr}`)), 15_000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(Number(d.toString().trim()));
    });
    child.once('exit', (code) => reject(new Error(`python exited ${code}: ${stderr}`)));
  });
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}
