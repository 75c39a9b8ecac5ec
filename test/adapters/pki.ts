import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki } from '../helpers/certs.js';

/**
 * A server certificate from the test CA that names `localhost` only (no IP entry): a client that
 * dials 127.0.0.1 must refuse it, and would accept it if it checked the name against 'localhost'.
 */
export function localhostOnlyCert(): { cert: string; key: string } {
  const { dir } = makeTestPki();
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'lo.key']);
  run(['req', '-new', '-key', 'lo.key', '-subj', '/CN=localhost', '-out', 'lo.csr']);
  writeFileSync(join(dir, 'lo.cnf'), 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n');
  run([
    'x509',
    '-req',
    '-in',
    'lo.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    'lo.cnf',
    '-out',
    'lo.crt',
  ]);
  return { cert: readFileSync(join(dir, 'lo.crt'), 'utf8'), key: readFileSync(join(dir, 'lo.key'), 'utf8') };
}
