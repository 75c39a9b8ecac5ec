import { afterEach } from 'vitest';
import type { SerialDuplex } from '../../src/modem/serial/index.js';
import { openPtyPair, type PtyPair } from '../../src/bench/serial/pty-pair.js';

/**
 * For a describe block over a pty pair: `pair()` opens one, ports pushed to `open` are closed and
 * the pair is torn down after each test.
 */
export function usePtyBed(): { open: SerialDuplex[]; pair: () => Promise<PtyPair> } {
  const open: SerialDuplex[] = [];
  let pty: PtyPair | undefined;
  const reset = async (): Promise<void> => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await pty?.close();
    pty = undefined;
  };
  afterEach(reset);
  return {
    open,
    pair: async () => {
      pty = await openPtyPair();
      return pty;
    },
  };
}

/** The port's 'close' argument; an 'error' event before it fails the wait (a lost line is no error). */
export function closeEvent(port: SerialDuplex): Promise<unknown> {
  return new Promise((resolve, reject) => {
    port.once('error', (err) => reject(new Error(`unexpected 'error' event: ${err.message}`)));
    port.once('close', (arg: unknown) => resolve(arg));
  });
}
