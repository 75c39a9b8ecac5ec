import { makeTestPki, signLeaf } from '../helpers/certs.js';

/**
 * A server certificate from the test CA that names `localhost` only (no IP entry): a client that
 * dials 127.0.0.1 must refuse it, and would accept it if it checked the name against 'localhost'.
 */
export function localhostOnlyCert(): { cert: string; key: string } {
  return signLeaf(makeTestPki().dir, 'lo', 'DNS:localhost', { cn: 'localhost' });
}
