import { describe, expect, it } from 'vitest';
import { SerialPortStream } from '@serialport/stream';
import { openSerialPort, TtyBinding } from '../../src/modem/serial/index.js';
import { fullDuplexExchange } from '../../src/bench/serial/exchange.js';
import { usePtyBed } from './pty-bed.js';

// The stock @serialport/bindings-cpp stalled in 6 of 24 such runs here (1/12 and 5/12; see
// src/bench/serial/repro.ts); our transport must pass every one. A stall is "no byte
// moved either way for 10 s", far above the ~1 s a 10 MiB exchange takes even on a loaded machine.
const MIB = 1024 * 1024;
const RUNS = 5;
const STALL_MS = 10_000;

describe('full-duplex bulk traffic through a pty pair', () => {
  const { open, pair } = usePtyBed();

  for (let run = 1; run <= RUNS; run++) {
    it(`moves 10 MiB each way at once without a stall or a lost byte (run ${run}/${RUNS})`, async () => {
      const pty = await pair();
      const a = await openSerialPort({ path: pty.a });
      const b = await openSerialPort({ path: pty.b });
      open.push(a, b);
      const result = await fullDuplexExchange(a, b, { bytes: 10 * MIB, stallMs: STALL_MS });
      expect(result.stalled).toBe(false);
      expect(result.error).toBeUndefined();
      expect(result.aToB.received).toBe(10 * MIB);
      expect(result.bToA.received).toBe(10 * MIB);
      expect(result.aToB.receivedSha256).toBe(result.aToB.sentSha256);
      expect(result.bToA.receivedSha256).toBe(result.bToA.sentSha256);
      expect(result.ok).toBe(true);
    });
  }

  it('works as a plain serialport binding under SerialPortStream too', async () => {
    const pty = await pair();
    const openStream = (path: string) =>
      new Promise<SerialPortStream>((resolve, reject) => {
        const s = new SerialPortStream({ binding: TtyBinding, path, baudRate: 115200 }, (err) =>
          err ? reject(err) : resolve(s),
        );
        s.on('error', () => undefined);
      });
    const a = await openStream(pty.a);
    const b = await openStream(pty.b);
    try {
      const result = await fullDuplexExchange(a, b, { bytes: 4 * MIB, stallMs: STALL_MS });
      expect(result.stalled).toBe(false);
      expect(result.aToB.receivedSha256).toBe(result.aToB.sentSha256);
      expect(result.bToA.receivedSha256).toBe(result.bToA.sentSha256);
    } finally {
      await Promise.all([a, b].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    }
  });
});
