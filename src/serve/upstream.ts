/**
 * Opening the connection a client asked for, through a pooled module link: names are resolved by
 * the module (`AT+CDNSGIP`), never by this host, so a `socks5h://` client leaks no DNS query to the
 * host's network; the link is given back to the pool when the socket closes.
 */
import { isIP } from 'node:net';
import { connected, createConnection, resolveOnModule, type ModemConnection } from '../adapters/index.js';
import { ServeAddressTypeError } from './errors.js';
import type { LinkLease, LinkPool, PoolModule } from './pool.js';

/** Where a client wants to go: an IPv4 address, a name, or an IPv6 address. */
export interface Destination {
  host: string;
  port: number;
}

export interface Upstream {
  socket: ModemConnection;
  module: PoolModule;
  /** The IPv4 address connected to. */
  address: string;
}

/**
 * A connected link to `dest`. The lease is released when the socket closes, or at once on failure.
 * Errors: the pool's (`ERR_SERVE_QUEUE_*`, `ERR_SERVE_NO_MODULE`), `ENOTFOUND` from the module's
 * resolver, the adapters' net errors (`ECONNREFUSED`, `ETIMEDOUT`, `ECONNRESET`), `ERR_SERVE_ADDRESS_TYPE`.
 */
export async function openUpstream(
  pool: LinkPool,
  dest: Destination,
  options: { signal?: AbortSignal; connectTimeoutMs?: number } = {},
): Promise<Upstream> {
  const bare = dest.host.startsWith('[') && dest.host.endsWith(']') ? dest.host.slice(1, -1) : dest.host;
  // The module's CIPSTART takes IPv4 addresses and names only (air780e-at.md §4.4).
  if (isIP(bare) === 6) throw new ServeAddressTypeError(`IPv6 destination [${bare}]`);
  const lease = await pool.acquire(options.signal);
  let leaseHeld: LinkLease | undefined = lease;
  try {
    const modem = lease.module.modem;
    const address = isIP(bare) === 4 ? bare : (await resolveOnModule(modem, bare))[0]!;
    options.signal?.throwIfAborted();
    const socket = createConnection(modem, {
      host: address,
      port: dest.port,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    socket.once('close', () => lease.release());
    leaseHeld = undefined;
    await connected(socket, false);
    return { socket, module: lease.module, address };
  } finally {
    leaseHeld?.release();
  }
}

/** What went wrong opening a destination, in the terms both proxy protocols answer with. */
export type FailureKind =
  | 'refused'
  | 'unresolved'
  | 'timeout'
  | 'not-ready'
  | 'queue-full'
  | 'queue-timeout'
  | 'address-type'
  | 'other';

function codes(err: unknown): string[] {
  const out: string[] = [];
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === 'string') out.push(e.code);
  }
  return out;
}

/** Classifies an {@link openUpstream} failure by the codes along its cause chain. */
export function failureKind(err: unknown): FailureKind {
  const c = codes(err);
  const has = (x: string): boolean => c.includes(x);
  if (has('ERR_SERVE_QUEUE_FULL')) return 'queue-full';
  if (has('ERR_SERVE_QUEUE_TIMEOUT')) return 'queue-timeout';
  if (has('ERR_SERVE_ADDRESS_TYPE')) return 'address-type';
  if (has('ENOTFOUND') || has('ERR_BAD_ARGUMENT')) return 'unresolved';
  if (has('ECONNREFUSED') || has('ERR_CONNECT_FAILED')) return 'refused';
  if (has('ETIMEDOUT') || has('ERR_CONNECT_TIMEOUT') || has('ERR_AT_TIMEOUT')) return 'timeout';
  if (has('ERR_SERVE_NO_MODULE') || has('ERR_MODEM_NOT_READY') || has('ERR_MODEM_RESET') || has('ERR_SERVE_CLOSED'))
    return 'not-ready';
  return 'other';
}
