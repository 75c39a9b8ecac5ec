import { performance } from 'node:perf_hooks';
import { MockModem } from '../mock/index.js';

/** Result of {@link measureLineRate}. */
export interface LineRateResult {
  /** Measured module → host rate (bytes/s). */
  bytesPerSec: number;
  /** `bytesPerSec` / (baud / 10): 1.0 is exact. */
  fraction: number;
  /** Measured host → module rate at the same time (full duplex), bytes/s. */
  uplinkBytesPerSec: number;
  uplinkFraction: number;
}

/**
 * Measure the simulated line: for `seconds`, push bytes both ways at once (noise down, a long
 * non-command line up) and time them at the far end. The rate is taken between the first and the
 * last delivery, so start-up cost does not count.
 */
export async function measureLineRate(baud: number, seconds: number): Promise<LineRateResult> {
  if (!(baud > 0) || !(seconds > 0)) throw new RangeError('measureLineRate needs baud > 0 and seconds > 0');
  const nominal = baud / 10;
  const total = Math.max(1, Math.round(nominal * seconds));
  const mock = new MockModem({ baudRate: baud, transcriptMaxBytes: 4096 });
  try {
    const stream = mock.hostStream();
    const down = new Promise<{ bytes: number; ms: number }>((resolve) => {
      let got = 0;
      let first = 0;
      let firstLen = 0;
      stream.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (got === 0) {
          first = now;
          firstLen = chunk.length;
        }
        got += chunk.length;
        if (got >= total) resolve({ bytes: got - firstLen, ms: now - first });
      });
    });
    // No CR in the uplink bytes: the module discards an over-long line without answering.
    const upData = Buffer.alloc(total, 0x55);
    const upStart = performance.now();
    const up = new Promise<number>((resolve, reject) =>
      stream.write(upData, (err) => (err ? reject(err) : resolve(performance.now() - upStart))),
    );
    mock.injectNoise(Buffer.alloc(total, 0x55));
    const [d, upMs] = await Promise.all([down, up]);
    const bytesPerSec = d.ms > 0 ? (d.bytes * 1000) / d.ms : Infinity;
    const uplinkBytesPerSec = (total * 1000) / upMs;
    return {
      bytesPerSec,
      fraction: bytesPerSec / nominal,
      uplinkBytesPerSec,
      uplinkFraction: uplinkBytesPerSec / nominal,
    };
  } finally {
    await mock.close();
  }
}
