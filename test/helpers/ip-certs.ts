import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=ip-vs-name test CA',
    '-out',
    'ca.crt',
  ]);
  const leaf = (name: string, san: string) => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
    writeFileSync(join(dir, `${name}.cnf`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.cnf`,
      '-out',
      `${name}.crt`,
    ]);
    return {
      cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
      key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    };
  };
  const dns = leaf('dns-localhost', 'DNS:localhost');
  const ip = leaf('ip-127', 'IP:127.0.0.1');
  cached = { dir, caFile: join(dir, 'ca.crt'), caCert: readFileSync(join(dir, 'ca.crt'), 'utf8'), dns, ip };
  return cached;
}
