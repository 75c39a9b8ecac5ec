import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA and a server certificate for `localhost` / 127.0.0.1, made with openssl at test time. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** A second, unrelated CA: verification against it must fail. */
  otherCaCert: string;
}

let cached: TestPki | undefined;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A self-signed CA `<name>.key` / `<name>.crt` in `dir` (P-256, two days). */
export function makeCa(dir: string, name: string, subject = `/CN=${name}`): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(
    ['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', subject, '-out', `${name}.crt`],
    dir,
  );
}

/**
 * A leaf `<name>.key` / `<name>.crt` in `dir`, signed by the CA `<ca>` there, with the given
 * subjectAltName (`DNS:localhost`, `IP:127.0.0.1`, or both comma-separated) and CN.
 */
export function signLeaf(
  dir: string,
  name: string,
  san: string,
  options: { ca?: string; cn?: string } = {},
): { cert: string; key: string } {
  const ca = options.ca ?? 'ca';
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${options.cn ?? name}`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.cnf`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.cnf`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
  return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

/** Creates (once per process) a CA, a server cert signed by it, and an unrelated CA. */
export function makeTestPki(): TestPki {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'air780-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  signLeaf(dir, 'server', 'DNS:localhost,IP:127.0.0.1', { cn: 'localhost' });
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  cached = {
    dir,
    caCert: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    otherCaCert: read('other-ca.crt'),
  };
  return cached;
}
