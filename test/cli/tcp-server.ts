import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP server on 127.0.0.1 that hands each connection to `onSocket`; pushed onto `cleanups`, it
 * destroys its connections and closes. Resolves with its port.
 */
export async function startTcpServer(
  cleanups: Array<() => void | Promise<void>>,
  onSocket: (s: net.Socket) => void = () => {},
): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as AddressInfo).port;
}
