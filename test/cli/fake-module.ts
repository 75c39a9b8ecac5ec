import { Duplex } from 'node:stream';

/** A module end: the test pushes its bytes, the console's writes are collected. */
export function fakeModule(): { stream: Duplex; written: () => Buffer; send: (b: Buffer) => void } {
  const writes: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk);
      cb();
    },
  });
  return { stream, written: () => Buffer.concat(writes), send: (b) => void stream.push(b) };
}
