/**
 * `air780 serve`: SOCKS5 (RFC 1928/1929) and HTTP proxy front ends over the links of one or more
 * modules, so every program on the host can use the module's sockets without root or routes.
 */
export { startProxies, type ServeOptions, type RunningProxies, type Listen } from './server.js';
export {
  LinkPool,
  LINKS_PER_MODULE,
  type PoolModule,
  type LinkLease,
  type LinkPoolOptions,
  type PoolStats,
} from './pool.js';
export { openUpstream, failureKind, type Destination, type Upstream, type FailureKind } from './upstream.js';
export { parseCredentials, type Credentials } from './credentials.js';
export { openAccessLog, type AccessLog, type AccessRecord } from './access-log.js';
export {
  ServeQueueFullError,
  ServeQueueTimeoutError,
  ServeNoModuleError,
  ServeClosedError,
  ServeAddressTypeError,
} from './errors.js';
