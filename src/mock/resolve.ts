import dns from 'node:dns';
import net from 'node:net';
import type { MockResolver } from './options.js';

/** 'localhost' → 127.0.0.1, IPv4 literals as they are, other names through the host's resolver. */
async function defaultResolve(host: string): Promise<string | undefined> {
  if (host.toLowerCase() === 'localhost') return '127.0.0.1';
  if (net.isIPv4(host)) return host;
  // The module has no IPv6 in CIPSTART (air780e-at.md §4.4).
  if (net.isIP(host) !== 0) return undefined;
  try {
    return (await dns.promises.lookup(host, { family: 4 })).address;
  } catch {
    return undefined;
  }
}

/** Resolve with the user's hook (its answer is final) or the default; anything but IPv4 is a failure. */
export async function resolveHost(host: string, hook: MockResolver | undefined): Promise<string | undefined> {
  let ip: string | undefined;
  try {
    ip = hook ? await hook(host) : await defaultResolve(host);
  } catch {
    ip = undefined;
  }
  return ip !== undefined && net.isIPv4(ip) ? ip : undefined;
}
