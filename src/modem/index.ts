/**
 * The Air780E driver: open a module, keep it online, and open TCP/TLS sockets through it.
 *
 * ```ts
 * const modem = await Modem.open({ path: '/dev/ttyACM2', apn: 'cmnet' });
 * const socket = modem.connect('example.com', 80);
 * const secure = await modem.openStream('example.com', 443, { tls: 'host' });
 * ```
 */
export {
  Modem,
  type ModemOpenOptions,
  type ModemConnectOptions,
  type ModemState,
  type RecoveryReason,
  type SocketOpened,
} from './modem.js';
export { ModemSocket, MAX_CHUNK } from './socket.js';
export type { ModuleTlsVersion } from './module-tls.js';
export type { DeliveryTracker } from './delivery.js';
export { AcceptTimeoutError } from './delivery.js';
export type { ModemInfo } from './info.js';
export type { ProgressEvent } from './bringup.js';
export type { SignalInfo, Registration } from './parse.js';
export { parseCsq, parseCesq, parseRegistration } from './parse.js';
export { discoverPort, discoverPorts, type DiscoveredPort, type TransportOptions } from './transport.js';
export {
  ModemError,
  ConnectFailedError,
  ConnectTimeoutError,
  LinkClosedError,
  ModemResetError,
  NoFreeLinkError,
  SimAbsentError,
  SimLockedError,
  TlsMixedError,
  BringUpError,
  ModemNotReadyError,
  DeliveryTimeoutError,
  ReceiveOverflowError,
  DataLostError,
  NoModemFoundError,
  ModemAbortError,
} from './errors.js';
export type { DataLossReason } from './errors.js';
export { Air780Error } from '../at/errors.js';
