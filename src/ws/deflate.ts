import zlib from 'node:zlib';
import { WsHandshakeError, WsOptionError } from './errors.js';

/** permessage-deflate (RFC 7692) settings the client offers. */
export interface PerMessageDeflateOptions {
  /** Ask the server not to keep its compression context between messages (less memory, worse ratio). */
  serverNoContextTakeover?: boolean;
  /** Do not keep our compression context between messages. */
  clientNoContextTakeover?: boolean;
  /** Ask the server to use at most this LZ77 window (9–15). */
  serverMaxWindowBits?: number;
  /** Our largest window (9–15); also offered so the server may lower it. Default 15. */
  clientMaxWindowBits?: number;
  /** Messages shorter than this are sent uncompressed. Default 32 bytes. */
  threshold?: number;
  /** zlib level for our messages. Default 6 (zlib's). */
  level?: number;
}

/** What the server accepted. */
export interface NegotiatedDeflate {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  clientMaxWindowBits: number;
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Validates the `perMessageDeflate` option (JavaScript callers included): `false` → null, `true` →
 * defaults, or an object whose fields have the documented types and ranges. The window sizes end
 * up in the request head, so a non-number there would be header injection. Throws
 * {@link WsOptionError} (`ERR_WS_BAD_OPTION`).
 */
export function checkDeflateOptions(input: unknown): PerMessageDeflateOptions | null {
  if (input === undefined || input === true) return {};
  if (input === false) return null;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new WsOptionError(
      `perMessageDeflate must be true, false or an options object, not ${typeof input === 'string' ? JSON.stringify(input) : String(input)}`,
    );
  }
  const o = input as Record<string, unknown>;
  const flag = (k: string) => {
    if (o[k] !== undefined && typeof o[k] !== 'boolean')
      throw new WsOptionError(`perMessageDeflate.${k} must be a boolean`);
  };
  const int = (k: string, min: number, max: number) => {
    const v = o[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) {
      throw new WsOptionError(
        `perMessageDeflate.${k} must be an integer from ${min} to ${max}, not ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`,
      );
    }
  };
  flag('serverNoContextTakeover');
  flag('clientNoContextTakeover');
  int('serverMaxWindowBits', 9, 15);
  int('clientMaxWindowBits', 9, 15);
  int('level', -1, 9);
  const t = o.threshold;
  if (t !== undefined && !(typeof t === 'number' && t >= 0 && !Number.isNaN(t))) {
    throw new WsOptionError('perMessageDeflate.threshold must be a number of bytes, 0 or more');
  }
  return { ...(o as PerMessageDeflateOptions) };
}

/** The `Sec-WebSocket-Extensions` offer for these options (validated by {@link checkDeflateOptions}). */
export function deflateOffer(opts: PerMessageDeflateOptions): string {
  const params = ['permessage-deflate'];
  if (opts.serverNoContextTakeover) params.push('server_no_context_takeover');
  if (opts.clientNoContextTakeover) params.push('client_no_context_takeover');
  if (opts.serverMaxWindowBits !== undefined) params.push(`server_max_window_bits=${opts.serverMaxWindowBits}`);
  params.push(
    opts.clientMaxWindowBits !== undefined
      ? `client_max_window_bits=${opts.clientMaxWindowBits}`
      : 'client_max_window_bits',
  );
  return params.join('; ');
}

function bad(msg: string): WsHandshakeError {
  return new WsHandshakeError(
    `The server's Sec-WebSocket-Extensions answer is invalid: ${msg}. Disable perMessageDeflate if this server cannot negotiate it.`,
  );
}

function windowBits(name: string, value: string | true): number {
  if (value === true || !/^\d{1,2}$/.test(value)) throw bad(`${name} needs a value from 8 to 15`);
  const n = Number(value);
  if (n < 8 || n > 15) throw bad(`${name}=${value} is out of range 8..15`);
  return n;
}

/**
 * Parses the server's `Sec-WebSocket-Extensions` header against our offer. Returns null when the
 * header is absent; throws when it names anything we did not offer or has invalid parameters.
 */
export function acceptDeflate(
  header: string | undefined,
  offer: PerMessageDeflateOptions | null,
): NegotiatedDeflate | null {
  if (header === undefined || header.trim() === '') return null;
  const exts = header.split(',').map((s) => s.trim());
  if (offer === null) throw bad(`the server chose "${header}" but we offered no extension`);
  if (exts.length !== 1) throw bad(`more than one extension was accepted ("${header}")`);
  const [name, ...rawParams] = exts[0]!.split(';').map((s) => s.trim());
  if (name!.toLowerCase() !== 'permessage-deflate') throw bad(`extension "${name}" was not offered`);
  const seen = new Set<string>();
  const result: NegotiatedDeflate = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: !!offer.clientNoContextTakeover,
    clientMaxWindowBits: offer.clientMaxWindowBits ?? 15,
  };
  for (const raw of rawParams) {
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    const key = (eq < 0 ? raw : raw.slice(0, eq)).trim().toLowerCase();
    let value: string | true = eq < 0 ? true : raw.slice(eq + 1).trim();
    if (typeof value === 'string' && value.startsWith('"') && value.endsWith('"') && value.length >= 2)
      value = value.slice(1, -1);
    if (seen.has(key)) throw bad(`parameter ${key} appears twice`);
    seen.add(key);
    switch (key) {
      case 'server_no_context_takeover':
        if (value !== true) throw bad('server_no_context_takeover takes no value');
        result.serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        if (value !== true) throw bad('client_no_context_takeover takes no value');
        result.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const n = windowBits(key, value);
        if (offer.serverMaxWindowBits !== undefined && n > offer.serverMaxWindowBits)
          throw bad(`server_max_window_bits=${n} exceeds our offer of ${offer.serverMaxWindowBits}`);
        break;
      }
      case 'client_max_window_bits': {
        const n = windowBits(key, value);
        if (n === 8) throw bad('client_max_window_bits=8 is not supported by zlib raw deflate');
        if (n > result.clientMaxWindowBits) throw bad(`client_max_window_bits=${n} exceeds our offer`);
        result.clientMaxWindowBits = n;
        break;
      }
      default:
        throw bad(`unknown parameter "${key}"`);
    }
  }
  if (offer.serverNoContextTakeover && !result.serverNoContextTakeover)
    throw bad('server_no_context_takeover was requested but not confirmed');
  return result;
}

/**
 * The compression contexts of one connection. Both directions are asynchronous zlib streams; the
 * callers (Sender and Receiver) serialise their own calls, so one operation per direction is in
 * flight at a time.
 */
export class PerMessageDeflate {
  readonly params: NegotiatedDeflate;
  readonly threshold: number;
  private readonly level: number;
  private inflater: zlib.InflateRaw | null = null;
  private deflater: zlib.DeflateRaw | null = null;

  constructor(params: NegotiatedDeflate, options: PerMessageDeflateOptions = {}) {
    this.params = params;
    this.threshold = options.threshold ?? 32;
    this.level = options.level ?? zlib.constants.Z_DEFAULT_COMPRESSION;
  }

  /**
   * Inflates one frame's payload. `onData` sees each inflated piece as zlib produces it (so text
   * can be validated and sizes bounded as it grows) and returns an error to abort.
   */
  decompress(
    data: Buffer,
    fin: boolean,
    onData: (chunk: Buffer) => Error | null,
    cb: (err: Error | null) => void,
  ): void {
    // A server may end a message with a final deflate block (BFINAL, RFC 7692 §7.2.3.4): zlib then
    // ends the stream, and an ended inflater takes later input without output or error. Such a
    // stream has no context to carry over, so the next message starts a new one (as `ws` does).
    if (this.inflater?.readableEnded) this.dropInflater();
    this.inflater ??= zlib.createInflateRaw({ windowBits: 15 });
    const inf = this.inflater;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      inf.removeListener('data', onChunk);
      inf.removeListener('error', onError);
      // A failed context cannot be trusted for the next message: drop it (this also stops zlib
      // from inflating the rest of a bomb whose output we already refused).
      if (err || (fin && (this.params.serverNoContextTakeover || inf.readableEnded))) this.dropInflater();
      cb(err);
    };
    const onChunk = (chunk: Buffer): void => {
      const err = onData(chunk);
      if (err) finish(err);
    };
    const onError = (err: Error): void => finish(err);
    inf.on('data', onChunk);
    inf.on('error', onError);
    inf.write(data);
    if (fin) inf.write(TRAILER);
    inf.flush(() => finish(null));
  }

  /** Compresses one fragment; the trailing 00 00 FF FF is removed at the end of the message. */
  compress(data: Buffer, fin: boolean, cb: (err: Error | null, out: Buffer) => void): void {
    this.deflater ??= zlib.createDeflateRaw({
      windowBits: this.params.clientMaxWindowBits,
      level: this.level,
    });
    const def = this.deflater;
    const chunks: Buffer[] = [];
    const onChunk = (c: Buffer): void => void chunks.push(c);
    const onError = (err: Error): void => {
      this.deflater = null;
      cb(err, Buffer.alloc(0));
    };
    def.on('data', onChunk);
    def.once('error', onError);
    def.write(data);
    def.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      def.removeListener('data', onChunk);
      def.removeListener('error', onError);
      let out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (fin) {
        out = out.subarray(0, out.length - 4);
        if (this.params.clientNoContextTakeover) {
          def.close();
          this.deflater = null;
        }
      }
      cb(null, out);
    });
  }

  private dropInflater(): void {
    const inf = this.inflater;
    this.inflater = null;
    if (inf) {
      inf.removeAllListeners('data');
      inf.on('error', () => {});
      inf.close();
    }
  }

  /** Frees both zlib contexts (connection closed). */
  cleanup(): void {
    this.dropInflater();
    if (this.deflater) {
      this.deflater.on('error', () => {});
      this.deflater.close();
      this.deflater = null;
    }
  }
}
