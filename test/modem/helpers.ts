import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Writes `size` random bytes (honouring backpressure) and reads as many back; returns both hashes. */
export async function echoThrough(socket: Duplex, size: number, chunk = 16 * 1024): Promise<{ sent: string; received: string; bytes: number }> {
  const data = randomBytes(size);
  const received: Buffer[] = [];
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      received.push(b);
      got += b.length;
      if (got >= size) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => (got >= size ? resolve() : reject(new Error(`closed after ${got} of ${size} bytes`))));
  });
  for (let off = 0; off < size; off += chunk) {
    if (!socket.write(data.subarray(off, off + chunk))) await once(socket, 'drain');
  }
  await done;
  return { sent: sha256(data), received: sha256(Buffer.concat(received)), bytes: got };
}

/** Resolves with the first event among `names`. */
export function firstEvent(emitter: NodeJS.EventEmitter, names: string[], timeoutMs = 20_000): Promise<{ name: string; args: unknown[] }> {
  return new Promise((resolve, reject) => {
    const handlers = names.map((name) => {
      const h = (...args: unknown[]) => {
        cleanup();
        resolve({ name, args });
      };
      emitter.on(name, h);
      return [name, h] as const;
    });
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`none of ${names.join(', ')} within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(t);
      for (const [n, h] of handlers) emitter.off(n, h);
    };
  });
}

/** Resolves once `predicate` is true, checking on every event of `emitter` named `event` and every 20 ms. */
export async function waitFor(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
