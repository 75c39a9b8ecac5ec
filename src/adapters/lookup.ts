import { isIP, type LookupFunction } from 'node:net';
import type { LookupAddress, LookupOptions } from 'node:dns';
import createDebug from 'debug';
import { atHost } from '../at/args.js';
import { URC } from '../at/index.js';
import { ModemNotReadyError, type Modem } from '../modem/index.js';
import { ModemLookupError } from './errors.js';

const debug = createDebug('air780:adapters');

/** How long the module may take to answer a name (its own retries included). */
const DEFAULT_LOOKUP_TIMEOUT_MS = 30_000;

/** One `AT+CDNSGIP` at a time per modem: a failure line does not name the host it is about. */
const queues = new WeakMap<Modem, Promise<unknown>>();

/**
 * The IPv4 addresses the module resolves `hostname` to (`AT+CDNSGIP`), in its order. Never asks
 * the host's resolver. Rejects with `ENOTFOUND` ({@link ModemLookupError}, the module's error
 * number in `moduleError`) or the AT channel's error (`ERR_AT_TIMEOUT`, `ERR_MODEM_NOT_READY`…).
 */
export function resolveOnModule(
  modem: Modem,
  hostname: string,
  options: { timeoutMs?: number } = {},
): Promise<string[]> {
  const run = async (): Promise<string[]> => {
    const quoted = atHost(hostname, 'hostname');
    const timeoutMs = options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
    // Fail fast while recovering: a resolver that waits would hold every caller's connect.
    if (modem.state !== 'online') throw new ModemNotReadyError(modem.state);
    const at = modem.at;
    let unsubscribe = (): void => {};
    let timer: NodeJS.Timeout | undefined;
    // Subscribed before the command: the answer may follow OK in the same read.
    const answer = new Promise<string[]>((resolve, reject) => {
      timer = setTimeout(() => reject(new ModemLookupError(hostname, `no +CDNSGIP within ${timeoutMs} ms`)), timeoutMs);
      // `+CDNSGIP: 1,"<host>","<ip>"[,"<ip2>"]` or `+CDNSGIP: 0,<err>` (the dialect table parses it).
      unsubscribe = at.onShape(URC.dnsAnswer, (a) => {
        if ('host' in a && a.host !== hostname) return; // an answer to someone else's query
        clearTimeout(timer);
        if ('error' in a) reject(new ModemLookupError(hostname, `+CDNSGIP error ${a.error}`, a.error));
        else resolve(a.ips.filter((ip) => isIP(ip) !== 0));
      });
    });
    answer.catch(() => {});
    try {
      await at.send(`AT+CDNSGIP=${quoted}`);
      const ips = await answer;
      debug('module resolved %s → %s', hostname, ips.join(', '));
      if (ips.length === 0) throw new ModemLookupError(hostname, 'the module returned no address');
      return ips;
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  };
  const prev = queues.get(modem) ?? Promise.resolve();
  const mine = prev.then(run, run);
  queues.set(
    modem,
    mine.catch(() => undefined),
  );
  return mine;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup`-compatible resolver that asks the module (for libraries that resolve before
 * connecting: `lookup` options of `http.request`, `net.connect`, undici…). IP literals are
 * returned as they are; names go to `AT+CDNSGIP`, never to the host's resolver. The module
 * answers IPv4 only: `family: 6` gets `ENOTFOUND`.
 */
export function moduleLookup(modem: Modem): LookupFunction {
  function lookup(hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback): void {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts: LookupOptions =
      typeof options === 'number' ? { family: options } : typeof options === 'object' && options ? options : {};
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : (opts.family ?? 0);
    const done = (ips: string[]) => {
      const found = ips
        .map((address) => ({ address, family: isIP(address) }))
        .filter((a) => family === 0 || a.family === family);
      if (found.length === 0)
        return cb(new ModemLookupError(hostname, `no IPv${family} address (the module resolves IPv4)`), '');
      if (opts.all) cb(null, found);
      else cb(null, found[0]!.address, found[0]!.family);
    };
    const literal = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    if (isIP(literal)) return void process.nextTick(() => done([literal]));
    resolveOnModule(modem, hostname).then(done, (err: NodeJS.ErrnoException) => cb(err, ''));
  }
  return lookup as LookupFunction;
}
