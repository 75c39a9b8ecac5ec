/**
 * mqtt-telemetry: publish telemetry with mqtt.js through the module. `modem.mqttStream()` is
 * mqtt.js's stream builder: each (re)connect opens a new module link, so after a module reboot
 * mqtt.js reconnects by itself and resends unacknowledged QoS 1 messages.
 * `mqtts://` URLs use TLS on the host (verified; `EXAMPLE_CA` for a private CA).
 *
 *   npx tsc -p examples && AIR780_PORT=/dev/ttyACM2 node dist/examples/mqtt-telemetry.js mqtt://test.mosquitto.org:1883
 *   node dist/examples/mqtt-telemetry.js --mock mqtt://127.0.0.1:1883         # mock module, local broker
 */
import { MqttClient } from 'mqtt';
import { exampleCa, openExampleModem, target } from './modem.js';

const url = new URL(target('mqtt://test.mosquitto.org:1883'));
const secure = url.protocol === 'mqtts:';
const { modem, close } = await openExampleModem();
const ca = exampleCa();
const client = new MqttClient(
  modem.mqttStream({
    host: url.hostname,
    port: Number(url.port || (secure ? 8883 : 1883)),
    tls: secure,
    ...(ca ? { ca } : {}),
  }),
  { protocolVersion: 4, clientId: `air780-${process.pid}`, reconnectPeriod: 2000, connectTimeout: 60_000 },
);
client.on('error', (err) => console.error(`mqtt: ${err.message}`));

const topic = 'air780/example/telemetry';
for (let i = 0; i < 5; i++) {
  await client.publishAsync(topic, JSON.stringify({ seq: i, rssi: -71, at: Date.now() }), { qos: 1 });
  console.log(`published ${topic} #${i} (QoS 1, acknowledged by the broker)`);
}
await client.endAsync();
await close();
