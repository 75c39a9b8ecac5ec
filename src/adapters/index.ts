/**
 * Adapters: the module under the Node libraries people already use. `createConnection` (net/tls),
 * `httpAgent`/`httpsAgent` (http/https, socket.io-client, ws), `dispatcher` (undici/fetch),
 * `mqttStream` (mqtt.js), `moduleLookup` (dns.lookup). Importing this module also makes each one a
 * `Modem` method (`modem.httpAgent()`…).
 */
import './methods.js';

export { createConnection, connectionArgs, type ModemConnection, type ModemConnectionOptions } from './connection.js';
export { httpAgent, httpsAgent, type ModemAgentOptions, type ModemHttpsAgentOptions } from './agents.js';
export { dispatcher, type ModemDispatcherOptions } from './dispatcher.js';
export { moduleLookup, resolveOnModule } from './lookup.js';
export { mqttStream } from './mqtt.js';
export { connected, connectWhenFree, type LinkWaitOptions } from './link-wait.js';
export { asNetError } from './net-errors.js';
export {
  ModemNetError,
  LinkWaitTimeoutError,
  LinkQueueFullError,
  ModemLookupError,
  PeerDependencyMissingError,
} from './errors.js';
