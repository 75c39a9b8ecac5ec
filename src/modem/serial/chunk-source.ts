/**
 * An optional capability of a binding's port: hand received chunks straight to a consumer.
 *
 * Why: the serialport `read(buffer, offset, length)` contract costs a promise, a copy into the
 * caller's buffer and a few ticks per chunk. A UART at 115200 baud delivers a small chunk about
 * every millisecond, so that per-chunk overhead dominated the host's CPU while receiving. A port
 * that already has fresh Buffers (our tty binding gets one per libuv read) can pass them on instead.
 * Ports without the capability (the mock's, stock serialport bindings) keep the `read()` path.
 */

/** The property key a port offers {@link ChunkSource.receiveChunks} under. */
export const RECEIVE_CHUNKS: unique symbol = Symbol.for('air780.serial.receiveChunks');

/** Where a {@link ChunkSource} delivers. */
export interface ChunkSink {
  /**
   * One received chunk; the sink owns it from now on (it is never reused by the port).
   * Return false to stop delivery until {@link ChunkFlow.resume} (the port stops reading the device).
   */
  data(chunk: Buffer): boolean;
  /**
   * The line went away (error without `canceled`, as a failed `read()` would reject with), after
   * every byte received before it was delivered. Called at most once, never after the port was
   * closed, and never synchronously from {@link ChunkSource.receiveChunks} or {@link ChunkFlow.resume}.
   */
  gone(err: Error): void;
}

/** Control of a delivery started by {@link ChunkSource.receiveChunks}. */
export interface ChunkFlow {
  /** Deliver again after {@link ChunkSink.data} returned false. Harmless when already delivering. */
  resume(): void;
}

/** A port with the capability. Once `receiveChunks` was called, `read()` must not be used. */
export interface ChunkSource {
  [RECEIVE_CHUNKS](sink: ChunkSink): ChunkFlow;
}

/** The port's chunk source, if it has one. */
export function chunkSourceOf(port: object): ChunkSource | null {
  return typeof (port as Partial<ChunkSource>)[RECEIVE_CHUNKS] === 'function' ? (port as ChunkSource) : null;
}
