import { describe, expect, it } from 'vitest';
import { benchLibraries } from '../../src/bench/libraries.js';
import { openModem } from '../integration/helpers.js';

describe('bench: library records (fetch, MQTT) against the raw socket on the same modem', () => {
  it('measures raw up/down, fetch up/down and MQTT QoS 0/1 and states each as a fraction of the raw rate', async () => {
    const { modem } = await openModem({ mock: { baudRate: 115200, latencyMs: 2 } });
    const lines: string[] = [];
    const records = await benchLibraries(modem, {
      baud: 115200,
      bytes: 24 * 1024,
      messages: 16,
      log: (l) => lines.push(l),
      timeoutMs: 60_000,
    });
    expect(records.map((r) => `${r.name} ${r.direction}`)).toEqual([
      'raw-socket down',
      'raw-socket up',
      'http-fetch down',
      'http-fetch up',
      'mqtt-qos0 up',
      'mqtt-qos1 up',
    ]);
    for (const r of records) {
      expect(r.payloadBytesPerSec).toBeGreaterThan(0);
      expect(r.lineFraction).toBeGreaterThan(0);
    }
    for (const r of records.filter((x) => x.name !== 'raw-socket'))
      expect(r.note).toMatch(/^\d+\.\d{3} of the raw socket/);
    expect(lines.join('\n')).toMatch(/fetch down: .* of the raw socket/);
  }, 120_000);
});
