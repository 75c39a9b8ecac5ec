import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';

/** A loopback server that tests start and stop. */
export interface TestServer {
  port: number;
  close(): Promise<void>;
}

function track(server: net.Server): { close(): Promise<void> } {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A TCP echo server on 127.0.0.1 (every byte back, half-close mirrored). */
export async function startEchoServer(): Promise<TestServer> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  const t = track(server);
  return { port: await listen(server), close: t.close };
}

/** A TLS echo server on 127.0.0.1 with the given certificate. */
export async function startTlsEchoServer(cert: string, key: string): Promise<TestServer> {
  const server = tls.createServer({ cert, key }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.on('tlsClientError', () => {});
  const t = track(server);
  return { port: await listen(server), close: t.close };
}

/** A port on 127.0.0.1 where nothing listens (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
