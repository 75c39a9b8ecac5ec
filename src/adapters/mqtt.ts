import type { Modem } from '../modem/index.js';
import { createConnection, type ModemConnection, type ModemConnectionOptions } from './connection.js';

/**
 * A stream builder for mqtt.js: `new MqttClient(mqttStream(modem, { host, port }), opts)`.
 * mqtt.js calls it for the first connection and again on every reconnect, so each call opens a
 * new module link (returned at once; what mqtt.js writes before the link is up is queued in the
 * socket and sent on `CONNECT OK`, not lost). `tls: true` for MQTT over TLS verified on the host.
 */
export function mqttStream(modem: Modem, options: ModemConnectionOptions): () => ModemConnection {
  return () => createConnection(modem, options);
}
