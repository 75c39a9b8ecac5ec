import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MockModem } from '../../src/mock/index.js';
import { Modem, type ModemOpenOptions } from '../../src/modem/index.js';
import {
  observeModem,
  type ModemObserver,
  type ModemStats,
  type ObserveModemOptions,
} from '../../src/observe/index.js';
import { useEchoServer, waitFor } from '../modem/helpers.js';

const FAST: ModemOpenOptions = {
  syncIntervalMs: 300,
  pollIntervalMs: 50,
  commandTimeoutMs: 1500,
  recoveryBackoffMs: 100,
  recoveryMaxBackoffMs: 500,
  resyncTimeoutMs: 600,
};
const ICCID = '89860117831003134201';
const IMSI = '460011234567890';
const IMEI = '359759002514931';

const bed = useEchoServer();
const { cleanup } = bed;

async function open(options: ObserveModemOptions = {}): Promise<{ mock: MockModem; modem: Modem; obs: ModemObserver }> {
  const mock = new MockModem({ quirks: ['echo-after-reboot'], iccid: ICCID, imsi: IMSI, imei: IMEI });
  cleanup.push(() => mock.close());
  const modem = await Modem.open({
    stream: mock.hostStream(),
    reopen: () => mock.hostStream(),
    ...FAST,
    password: 'apn-Secret-9x',
  });
  cleanup.push(() => modem.close());
  const obs = observeModem(modem, options);
  cleanup.push(async () => obs.close());
  return { mock, modem, obs };
}

const identityRead = (obs: ModemObserver) => waitFor(() => obs.stats().identity.imei !== undefined, 10_000, 'identity');

describe('modem stats', () => {
  it('reads identity once online and masks ICCID/IMSI in the snapshot, never in identity()', async () => {
    const { obs } = await open({ signalIntervalMs: 0 });
    await identityRead(obs);
    const s = obs.stats();
    expect(s.identity).toMatchObject({ imei: IMEI, iccid: '8986…4201', imsi: '4600…7890' });
    expect(obs.stats({ unmasked: true }).identity.iccid).toBe(ICCID);
    expect(obs.identity().imsi).toBe(IMSI);
    const json = JSON.stringify(s);
    expect(json).not.toContain(ICCID);
    expect(json).not.toContain(IMSI);
    expect(json).not.toContain('apn-Secret-9x');
  });

  it('samples the signal every signalIntervalMs and follows a change', async () => {
    const { mock, obs } = await open({ signalIntervalMs: 150 });
    await waitFor(() => obs.stats().network.signal !== undefined, 10_000, 'first sample');
    expect(obs.stats().network).toMatchObject({
      signal: { rssi: 19, dbm: -75, bars: 4, rsrpDbm: -100, rsrqDb: -4.5 },
      registration: { registered: true, stat: 1 },
      operator: '46001',
      accessTechnology: 'LTE',
      ipAddress: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/),
    });
    mock.setSignal(8);
    await waitFor(() => obs.stats().network.signal?.rssi === 8, 10_000, 'the new signal');
    const s = obs.stats();
    expect(s.network.signal).toMatchObject({ rssi: 8, dbm: -97, bars: 1 });
    const rssis = s.signalHistory.map((x) => x.rssi);
    expect(rssis[0]).toBe(19);
    expect(rssis[rssis.length - 1]).toBe(8);
    expect(mock.commands().filter((c) => c === 'AT+CSQ').length).toBe(s.at.commands.CSQ!.count);
  });

  it('with sampling off writes no AT+CSQ at all', async () => {
    const { mock, obs } = await open({ signalIntervalMs: 0 });
    await identityRead(obs);
    await new Promise((r) => setTimeout(r, 600));
    expect(mock.commands().filter((c) => /^AT\+C(E)?SQ/.test(c))).toEqual([]);
    expect(obs.stats().network.signal).toBeUndefined();
    // The same bed with sampling on does write it (so the check above can fail).
    const on = observeModem(obs.modem, { signalIntervalMs: 100, identity: false });
    cleanup.push(async () => on.close());
    await waitFor(() => mock.commands().includes('AT+CSQ'), 10_000, 'AT+CSQ with sampling on');
  });

  it('counts a reboot: one recovery, the transitions with their causes, the events', async () => {
    const { mock, modem, obs } = await open({ signalIntervalMs: 0 });
    await identityRead(obs);
    const before = obs.stats();
    expect(before.recoveries).toEqual({ reboot: 0, pdp: 0, port: 0, unresponsive: 0, total: 0 });
    mock.reboot();
    await waitFor(() => obs.stats().recoveries.total === 1, 10_000, 'recovery counted');
    await waitFor(() => modem.state === 'online', 20_000, 'online again');
    const s = obs.stats();
    expect(s.recoveries).toEqual({ reboot: 1, pdp: 0, port: 0, unresponsive: 0, total: 1 });
    expect(s.state.current).toBe('online');
    const t = s.state.transitions;
    expect(t[0]).toMatchObject({ from: 'online', to: 'recovering', reason: 'reboot' });
    expect(t[t.length - 1]).toMatchObject({ to: 'online', reason: 'recovered' });
    expect(s.state.since).toBe(t[t.length - 1]!.at);
    expect(s.events.map((e) => e.kind)).toEqual(['reboot', 'recovered']);
  });

  it('counts a PDP loss as pdp, not as a reboot', async () => {
    const { mock, modem, obs } = await open({ signalIntervalMs: 0 });
    mock.deactivatePdp();
    await waitFor(() => obs.stats().recoveries.total === 1, 10_000, 'recovery counted');
    await waitFor(() => modem.state === 'online', 20_000, 'online again');
    const s = obs.stats();
    expect(s.recoveries).toEqual({ reboot: 0, pdp: 1, port: 0, unresponsive: 0, total: 1 });
    expect(s.state.transitions[0]).toMatchObject({ from: 'online', to: 'recovering', reason: 'pdp' });
    expect(s.events[0]).toMatchObject({ kind: 'pdp', message: expect.stringContaining('+PDP: DEACT') });
  });

  it('counts a stalled command as a timeout of that command, and the next sample as ok', async () => {
    const { mock, obs } = await open({ signalIntervalMs: 0, sampleTimeoutMs: 300, identity: false });
    mock.stall(900);
    await obs.sampleSignal();
    let csq = obs.stats().at.commands.CSQ!;
    expect(csq).toMatchObject({ count: 1, errors: 0, timeouts: 1 });
    expect(csq.latency.count).toBe(0);
    expect(obs.stats().events.some((e) => e.kind === 'at-timeout' && e.message.startsWith('CSQ'))).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    await obs.sampleSignal();
    csq = obs.stats().at.commands.CSQ!;
    expect(csq).toMatchObject({ count: 2, errors: 0, timeouts: 1 });
    expect(csq.latency.count).toBe(1);
    expect(csq.latency.counts.reduce((a, b) => a + b, 0)).toBe(1);
    expect(obs.stats().network.signal?.rssi).toBe(19);
  });

  it('counts commands by name with errors, and serial bytes each way exactly', async () => {
    const { mock, modem, obs } = await open({ signalIntervalMs: 0, identity: false });
    await new Promise((r) => setTimeout(r, 100));
    const before = obs.stats();
    mock.clearTranscript();
    for (let i = 0; i < 3; i++) await modem.at.send('AT+CGMM');
    await expect(modem.at.send('AT+NOSUCH')).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_(CME|AT_ERROR)$/),
    });
    const s = obs.stats();
    expect(s.at.commands.CGMM!.count - (before.at.commands.CGMM?.count ?? 0)).toBe(3);
    expect(s.at.commands.CGMM!.errors).toBe(0);
    expect(s.at.commands.other).toMatchObject({ count: 1, errors: 1, timeouts: 0 });
    expect(s.serial.bytesOut - before.serial.bytesOut).toBe(3 * 'AT+CGMM\r'.length + 'AT+NOSUCH\r'.length);
    expect(s.serial.bytesIn - before.serial.bytesIn).toBe(Buffer.byteLength(mock.sentText(), 'latin1'));
  });

  it('keeps a per-link row: destination, TLS mode, bytes each way, sends; then the closed row', async () => {
    const { modem, obs } = await open({ signalIntervalMs: 0, identity: false });
    const socket = modem.connect('127.0.0.1', bed.echo.port);
    expect(obs.stats().links).toMatchObject([
      { state: 'connecting', destination: `127.0.0.1:${bed.echo.port}`, tls: 'none' },
    ]);
    await once(socket, 'connect');
    const data = Buffer.alloc(3000, 0x41);
    const got: Buffer[] = [];
    socket.on('data', (b: Buffer) => got.push(b));
    socket.write(data);
    await waitFor(() => Buffer.concat(got).length === 3000, 10_000, 'echo');
    let row = obs.stats().links[0]!;
    expect(row).toMatchObject({ state: 'open', bytesUp: 3000, bytesDown: 3000 });
    expect(row.link).toBeGreaterThanOrEqual(0);
    expect(row.sends).toBeGreaterThanOrEqual(3); // 1460-byte chunks at most
    expect(row.lastActivityAt).toBeGreaterThanOrEqual(row.connectedAt!);
    socket.end();
    await once(socket, 'close');
    const s = obs.stats();
    expect(s.links).toEqual([]);
    row = s.closedLinks[0]!;
    expect(row).toMatchObject({ state: 'closed', bytesUp: 3000, bytesDown: 3000, error: undefined });
    expect(row.closedAt).toBeGreaterThanOrEqual(row.connectedAt!);
  });

  it("emits 'stats' at most every 250 ms while things change", async () => {
    const { modem, obs } = await open({ signalIntervalMs: 0, identity: false });
    const times: number[] = [];
    const snaps: ModemStats[] = [];
    obs.on('stats', (s: ModemStats) => {
      times.push(Date.now());
      snaps.push(s);
    });
    const end = Date.now() + 1200;
    while (Date.now() < end) await modem.at.send('AT');
    await new Promise((r) => setTimeout(r, 400));
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(245);
    expect(snaps[snaps.length - 1]!.at.commands.AT!.count).toBe(obs.stats().at.commands.AT!.count);
  });

  it('samples one command at a time: a command queued meanwhile waits behind at most one of them', async () => {
    const mock = new MockModem({ latencyMs: 40 });
    cleanup.push(() => mock.close());
    const modem = await Modem.open({ stream: mock.hostStream(), ...FAST });
    cleanup.push(() => modem.close());
    const obs = observeModem(modem, { signalIntervalMs: 0, identity: false });
    cleanup.push(async () => obs.close());
    mock.clearTranscript();
    const sampling = obs.sampleSignal();
    await new Promise((r) => setImmediate(r));
    await modem.at.send('AT+CGMM');
    await sampling;
    const cmds = mock.commands();
    expect(cmds.slice(0, 2)).toEqual(['AT+CSQ', 'AT+CGMM']);
    expect(cmds.slice(2)).toEqual(['AT+CESQ', 'AT+CEREG?', 'AT+COPS?']);
  });

  it('modem.stats() and modem.observer(): one shared observer per modem, made on the first call', async () => {
    const mock = new MockModem({ iccid: ICCID, imei: IMEI });
    cleanup.push(() => mock.close());
    const modem = await Modem.open({ stream: mock.hostStream(), ...FAST });
    cleanup.push(() => modem.close());
    const before = modem.listenerCount('state');
    const obs = modem.observer({ signalIntervalMs: 0 });
    expect(modem.listenerCount('state')).toBe(before + 1);
    expect(modem.observer()).toBe(obs);
    await waitFor(() => modem.stats().identity.imei === IMEI, 10_000, 'identity');
    expect(modem.listenerCount('state')).toBe(before + 1);
    expect(modem.stats()).toMatchObject({ state: { current: 'online' }, identity: { iccid: '8986…4201' } });
    expect(modem.stats({ unmasked: true }).identity.iccid).toBe(ICCID);
    mock.deactivatePdp();
    await waitFor(() => modem.stats().recoveries.pdp === 1, 10_000, 'the PDP loss counted');
  });
});
