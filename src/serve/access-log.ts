/**
 * `--log FILE`: one JSON line per closed tunnel or forwarded request. Addresses, sizes, timing and
 * how it ended; never payload bytes or credentials.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export interface AccessRecord {
  /** ISO time the connection closed. */
  time: string;
  /** `socks`, `connect` (HTTP CONNECT tunnel) or `http` (forwarded request). */
  proxy: 'socks' | 'connect' | 'http';
  client: string;
  /** host:port as the client asked (a name stays a name). */
  destination: string;
  /** The module that carried it, if one did. */
  module?: string;
  up: number;
  down: number;
  durationMs: number;
  /** closed, client-reset, upstream-reset, idle, shutdown, or the refusal (refused, unresolved…). */
  ended: string;
  error?: string;
}

export interface AccessLog {
  write(record: AccessRecord): void;
  close(): Promise<void>;
}

/** Appends to `path`; a write error is reported once through `onError` and the log stops. */
export function openAccessLog(path: string, onError: (err: Error) => void): AccessLog {
  let out: WriteStream | undefined = createWriteStream(path, { flags: 'a', mode: 0o600 });
  out.on('error', (err) => {
    out = undefined;
    onError(err);
  });
  return {
    write(record) {
      out?.write(`${JSON.stringify(record)}\n`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!out) return resolve();
        out.end(() => resolve());
      }),
  };
}

/** A log that drops everything (no --log). */
export const noAccessLog: AccessLog = { write() {}, close: async () => {} };
