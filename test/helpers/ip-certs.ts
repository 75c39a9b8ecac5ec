import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, signLeaf } from './certs.js';

/**
 * One CA and two leaf certificates it signed: one for `DNS:localhost` only, one for
 * `IP:127.0.0.1` only. A client that connects to 127.0.0.1 must accept the second and refuse the
 * first; one that connects to `localhost`, the other way round.
 */
export interface IpVsNamePki {
  dir: string;
  caFile: string;
  caCert: string;
  dns: { cert: string; key: string };
  ip: { cert: string; key: string };
}

let cached: IpVsNamePki | undefined;

export function makeIpVsNamePki(): IpVsNamePki {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'air780-ipcert-'));
  makeCa(dir, 'ca', '/CN=ip-vs-name test CA');
  const dns = signLeaf(dir, 'dns-localhost', 'DNS:localhost');
  const ip = signLeaf(dir, 'ip-127', 'IP:127.0.0.1');
  cached = { dir, caFile: join(dir, 'ca.crt'), caCert: readFileSync(join(dir, 'ca.crt'), 'utf8'), dns, ip };
  return cached;
}
