import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { MockModem } from '../../src/mock/index.js';
import { Modem } from '../../src/modem/index.js';
import { COMMAND_LABELS, observeModem, registerModemMetrics, MODEM_STATES } from '../../src/observe/index.js';
import { openModem } from '../integration/helpers.js';
import { useEchoServer, waitFor } from '../modem/helpers.js';
import { parseHistogramSeries, parseMetrics, seriesValue } from './prom-parse.js';

const ICCID = '89860117831003134201';
const IMSI = '460011234567890';
const IMEI = '359759002514931';
const PASSWORD = 'apn-Secret-9x';
const bed = useEchoServer();
const { cleanup } = bed;

/** Label names a series may carry: all from fixed sets, none from user input. */
const ALLOWED_LABELS = new Set([
  'imei',
  'state',
  'cause',
  'direction',
  'link',
  'command',
  'kind',
  'model',
  'firmware',
  'client',
  'le',
]);

describe('registerModemMetrics', () => {
  it('exposes state, recoveries, signal, serial/link bytes and AT commands with the IMEI label', async () => {
    const { mock, modem } = await openModem({
      mock: { quirks: ['echo-after-reboot'], iccid: ICCID, imsi: IMSI, imei: IMEI },
      modem: { password: PASSWORD },
    });
    const obs = observeModem(modem, { signalIntervalMs: 0 });
    cleanup.push(async () => obs.close());
    const registry = new Registry();
    const m = registerModemMetrics(obs, { registry });
    cleanup.push(async () => m.unregister());
    await waitFor(() => obs.stats().identity.imei !== undefined, 10_000, 'identity');
    await obs.sampleSignal();

    const socket = modem.connect('127.0.0.1', bed.echo.port);
    await once(socket, 'connect');
    const got: Buffer[] = [];
    socket.on('data', (b: Buffer) => got.push(b));
    socket.write(Buffer.alloc(3000, 0x42));
    await waitFor(() => Buffer.concat(got).length === 3000, 10_000, 'echo');
    const link = String(socket.link);

    let f = parseMetrics(await registry.metrics());
    expect(f.get('air780_state')!.type).toBe('GAUGE');
    expect(f.get('air780_state')!.metrics).toHaveLength(MODEM_STATES.length);
    expect(seriesValue(f, 'air780_state', { state: 'online', imei: IMEI })).toBe(1);
    expect(seriesValue(f, 'air780_state', { state: 'recovering' })).toBe(0);
    expect(seriesValue(f, 'air780_info', { imei: IMEI, model: 'Air780E' })).toBe(1);
    expect(seriesValue(f, 'air780_signal_rssi_dbm', { imei: IMEI })).toBe(-75);
    expect(seriesValue(f, 'air780_signal_bars')).toBe(4);
    expect(seriesValue(f, 'air780_signal_rsrp_dbm')).toBe(-100);
    expect(seriesValue(f, 'air780_signal_rsrq_db')).toBe(-4.5);
    expect(seriesValue(f, 'air780_registered')).toBe(1);
    expect(seriesValue(f, 'air780_links_open')).toBe(1);
    expect(f.get('air780_link_bytes_total')!.type).toBe('COUNTER');
    expect(seriesValue(f, 'air780_link_bytes_total', { link, direction: 'up' })).toBe(3000);
    expect(seriesValue(f, 'air780_link_bytes_total', { link, direction: 'down' })).toBe(3000);
    expect(seriesValue(f, 'air780_at_commands_total', { command: 'CSQ' })).toBe(1);
    expect(seriesValue(f, 'air780_at_errors_total', { command: 'CSQ', kind: 'timeout' })).toBe(0);
    expect(f.get('air780_at_command_duration_seconds')!.type).toBe('HISTOGRAM');
    const htext = await registry.metrics();
    const h = parseHistogramSeries(htext, 'air780_at_command_duration_seconds');
    expect(seriesValue(h, 'air780_at_command_duration_seconds_count', { command: 'CSQ', imei: IMEI })).toBe(1);
    expect(seriesValue(h, 'air780_at_command_duration_seconds_bucket', { command: 'CSQ', le: '+Inf' })).toBe(1);
    expect(seriesValue(h, 'air780_at_command_duration_seconds_bucket', { command: 'CSQ', le: '10' })).toBe(1);
    expect(seriesValue(h, 'air780_at_command_duration_seconds_count', { command: 'CIPSEND' })).toBeGreaterThanOrEqual(
      3,
    );
    const serial = obs.stats().serial;
    expect(seriesValue(f, 'air780_serial_bytes_total', { direction: 'out' })).toBeLessThanOrEqual(serial.bytesOut);
    expect(seriesValue(f, 'air780_serial_bytes_total', { direction: 'out' })).toBeGreaterThan(3000);

    socket.end();
    await once(socket, 'close');
    mock.reboot({ delayMs: 50 });
    await waitFor(() => obs.stats().recoveries.total === 1 && modem.state === 'online', 20_000, 'recovered');
    const text = await registry.metrics();
    f = parseMetrics(text);
    expect(seriesValue(f, 'air780_recoveries_total', { cause: 'reboot', imei: IMEI })).toBe(1);
    expect(seriesValue(f, 'air780_recoveries_total', { cause: 'pdp' })).toBe(0);
    expect(seriesValue(f, 'air780_links_open')).toBe(0);
    // A closed link's bytes stay counted.
    expect(seriesValue(f, 'air780_link_bytes_total', { link, direction: 'up' })).toBe(3000);

    // Every series: the IMEI label, label names and command names from fixed sets, no user input.
    const series = [...f.values()].filter((x) => x.type !== 'HISTOGRAM'); // folded by the parser: read untyped below
    for (const fam of [...series, ...parseHistogramSeries(text, 'air780_at_command_duration_seconds').values()]) {
      if (fam.metrics.length === 0) continue;
      for (const s of fam.metrics) {
        expect({ family: fam.name, imei: s.labels?.imei }).toEqual({ family: fam.name, imei: IMEI });
        for (const k of Object.keys(s.labels ?? {})) expect(ALLOWED_LABELS.has(k)).toBe(true);
        if (s.labels?.command) expect(COMMAND_LABELS).toContain(s.labels.command);
      }
    }
    for (const secret of [ICCID, IMSI, PASSWORD, '127.0.0.1', String(bed.echo.port)])
      expect(text).not.toContain(secret);
  });

  it('takes a Modem, a prefix and a registry; unregister removes the metrics', async () => {
    const mock = new MockModem();
    cleanup.push(() => mock.close());
    const modem = await Modem.open({ stream: mock.hostStream(), syncIntervalMs: 300, pollIntervalMs: 50 });
    cleanup.push(() => modem.close());
    const registry = new Registry();
    const m = registerModemMetrics(modem, { registry, prefix: 'gw_', observe: { signalIntervalMs: 0 } });
    let f = parseMetrics(await registry.metrics());
    expect(seriesValue(f, 'gw_state', { state: 'online' })).toBe(1);
    expect(f.has('air780_state')).toBe(false);
    m.unregister();
    f = parseMetrics(await registry.metrics());
    expect(f.size).toBe(0);
  });
});
