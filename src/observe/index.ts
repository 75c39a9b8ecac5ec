/**
 * Observability: {@link observeModem} (statistics of a module, its links and its AT channel),
 * {@link observeWebSocket}, Prometheus metrics and the status page server. Imports go down only:
 * observe → ws, modem, at. Loading it adds `modem.stats()` and `modem.observer()` (see methods.ts).
 */
import './methods.js';
export {
  ModemObserver,
  observeModem,
  LATENCY_BUCKETS_S,
  type ObserveModemOptions,
  type ModemStats,
  type Transition,
  type StatusEvent,
  type SignalSample,
  type CommandStats,
  type LinkStats,
  type IdentityStats,
} from './modem-stats.js';
export { maskIdentity } from './mask.js';
export { COMMAND_LABELS, commandLabel, type CommandLabel } from './commands.js';
export { WebSocketObserver, observeWebSocket, type WebSocketStats } from './websocket-stats.js';
export {
  registerModemMetrics,
  METRIC_HELP,
  MODEM_STATES,
  type ModemMetrics,
  type ModemMetricsOptions,
} from './metrics.js';
export {
  startStatusServer,
  startModemStatus,
  type ModemStatusOptions,
  parseStatusAddress,
  isLoopback,
  StatusServerError,
  DEFAULT_STATUS_HOST,
  DEFAULT_STATUS_PORT,
  type StatusServer,
  type StatusServerOptions,
  type StatusDocument,
} from './status-server.js';
