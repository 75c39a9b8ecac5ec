/**
 * Prometheus metrics of a module (prom-client). Values are read from the observer when the
 * registry is scraped (gauges and counters with `collect`, the AT round-trip histogram from the
 * observer's buckets), so nothing runs between scrapes. Every series carries the module's IMEI (`imei`, `unknown` until
 * it is read), so one Prometheus can tell a fleet apart. Labels come from fixed sets only
 * (states, causes, command names, link ids 0–5, directions): never a host, URL or user text.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Modem } from '../modem/index.js';
import type { ModemState, RecoveryReason } from '../modem/index.js';
import { LATENCY_BUCKETS_S, ModemObserver, type ModemStats, type ObserveModemOptions } from './modem-stats.js';
import type { WebSocketObserver } from './websocket-stats.js';

/** Every supervision state, each an `air780_state{state}` series. */
export const MODEM_STATES: readonly ModemState[] = [
  'opening',
  'syncing',
  'registering',
  'attaching',
  'online',
  'recovering',
  'closed',
];
const CAUSES: readonly RecoveryReason[] = ['reboot', 'pdp', 'port', 'unresponsive'];

/** Options of {@link registerModemMetrics}. */
export interface ModemMetricsOptions {
  /** Where the metrics go. Default: a new Registry (returned). */
  registry?: Registry;
  /** Metric name prefix. Default `air780_`. */
  prefix?: string;
  /** When given a Modem: the options of the observer created for it. */
  observe?: ObserveModemOptions;
  /**
   * Websocket clients to report as `<prefix>websocket_*{client}`; the key is the `client` label
   * (your own fixed name, never the URL). Read at each scrape, so clients may come and go.
   */
  websockets?: () => Record<string, WebSocketObserver>;
}

/** What {@link registerModemMetrics} returns. */
export interface ModemMetrics {
  registry: Registry;
  /** The observers read (one per module given). */
  observers: ModemObserver[];
  /** Remove the metrics from the registry and stop feeding them (closes an observer it created). */
  unregister(): void;
}

/** The metric names (without prefix) with their one-line meaning: README and help text. */
export const METRIC_HELP = {
  info: 'Module identity: 1, labelled with model and firmware.',
  state: 'Supervision state: 1 for the current state, 0 for the others.',
  recoveries_total: 'Recoveries started, by cause (reboot, pdp, port, unresponsive).',
  signal_rssi_dbm: 'Received signal strength from AT+CSQ, in dBm.',
  signal_bars: 'Signal as 0-5 bars.',
  signal_rsrp_dbm: 'LTE reference signal received power from AT+CESQ, in dBm.',
  signal_rsrq_db: 'LTE reference signal received quality from AT+CESQ, in dB.',
  registered: 'Registered on the network (home or roaming): 1 or 0.',
  serial_bytes_total: 'Bytes on the serial line, by direction (in: from the module, out: to it).',
  links_open: 'Module links (sockets) open or connecting.',
  link_bytes_total: 'Payload bytes carried by each module link 0-5, by direction (up, down).',
  at_commands_total: 'AT commands ended, by command name.',
  at_errors_total: 'AT commands that failed, by command name and kind (error, timeout, abandoned).',
  at_command_duration_seconds: 'AT command round trip (write to final result), by command name.',
  websocket_open: 'Websocket client open: 1 or 0.',
  websocket_connects_total: 'Websocket connections opened.',
  websocket_reconnects_total: 'Websocket reconnect attempts scheduled.',
  websocket_messages_total: 'Websocket messages, by direction (in, out).',
  websocket_bytes_total: 'Websocket payload bytes, by direction (in, out).',
  websocket_ping_rtt_seconds: 'Round trip of the last answered websocket ping.',
  websocket_last_close_code: 'Close code of the last websocket close.',
} as const;

/**
 * Register the metrics (see {@link METRIC_HELP}) of one module or several (one family each, told
 * apart by `imei`) on `registry`. Pass {@link ModemObserver}s to share them with a status page, or
 * Modems (an observer is created for each and closed by `unregister`).
 */
export function registerModemMetrics(
  modems: Modem | ModemObserver | ReadonlyArray<Modem | ModemObserver>,
  options: ModemMetricsOptions = {},
): ModemMetrics {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? 'air780_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p))
    throw new RangeError(`prefix must be a valid metric name start, got ${JSON.stringify(p)}`);
  const given = Array.isArray(modems)
    ? [...(modems as ReadonlyArray<Modem | ModemObserver>)]
    : [modems as Modem | ModemObserver];
  const owned: ModemObserver[] = [];
  const observers = given.map((m) => {
    if (!(m instanceof Modem)) return m;
    const o = new ModemObserver(m, options.observe);
    owned.push(o);
    return o;
  });
  const imei = (o: ModemObserver) => o.stats().identity.imei ?? 'unknown';
  const registers = [registry];
  const names: string[] = [];
  const add = <M>(name: string, m: M): M => {
    names.push(name);
    return m;
  };
  const gauge = (
    name: keyof typeof METRIC_HELP,
    labelNames: string[],
    collect: (g: Gauge<string>, id: string, obs: ModemObserver) => void,
  ) =>
    add(
      p + name,
      new Gauge({
        name: p + name,
        help: METRIC_HELP[name],
        labelNames: ['imei', ...labelNames],
        registers,
        collect() {
          this.reset();
          for (const o of observers) collect(this, imei(o), o);
        },
      }),
    );
  const counter = (
    name: keyof typeof METRIC_HELP,
    labelNames: string[],
    collect: (c: Counter<string>, id: string, obs: ModemObserver) => void,
  ) =>
    add(
      p + name,
      new Counter({
        name: p + name,
        help: METRIC_HELP[name],
        labelNames: ['imei', ...labelNames],
        registers,
        collect() {
          // Counters are kept by the observer; a scrape copies them.
          this.reset();
          for (const o of observers) collect(this, imei(o), o);
        },
      }),
    );

  gauge('info', ['model', 'firmware'], (g, id, obs) => {
    const s = obs.stats().identity;
    g.set({ imei: id, model: s.model ?? 'unknown', firmware: s.firmware ?? 'unknown' }, 1);
  });
  gauge('state', ['state'], (g, id, obs) => {
    const now = obs.modem.state;
    for (const state of MODEM_STATES) g.set({ imei: id, state }, state === now ? 1 : 0);
  });
  counter('recoveries_total', ['cause'], (c, id, obs) => {
    const r = obs.stats().recoveries;
    for (const cause of CAUSES) c.inc({ imei: id, cause }, r[cause]);
  });
  const signal = (
    name: keyof typeof METRIC_HELP,
    pick: (s: NonNullable<ReturnType<ModemObserver['stats']>['network']['signal']>) => number | undefined,
  ) =>
    gauge(name, [], (g, id, obs) => {
      const s = obs.stats().network.signal;
      const v = s && pick(s);
      if (v !== undefined) g.set({ imei: id }, v);
    });
  signal('signal_rssi_dbm', (s) => s.dbm);
  signal('signal_bars', (s) => (s.dbm === undefined ? undefined : s.bars));
  signal('signal_rsrp_dbm', (s) => s.rsrpDbm);
  signal('signal_rsrq_db', (s) => s.rsrqDb);
  gauge('registered', [], (g, id, obs) => {
    const r = obs.stats().network.registration;
    if (r) g.set({ imei: id }, r.registered ? 1 : 0);
  });
  counter('serial_bytes_total', ['direction'], (c, id, obs) => {
    const s = obs.stats().serial;
    c.inc({ imei: id, direction: 'in' }, s.bytesIn);
    c.inc({ imei: id, direction: 'out' }, s.bytesOut);
  });
  gauge('links_open', [], (g, id, obs) => g.set({ imei: id }, obs.stats().links.length));
  counter('link_bytes_total', ['link', 'direction'], (c, id, obs) => {
    for (const t of obs.stats().linkTotals) {
      if (!(t.link >= 0 && t.link <= 5)) continue;
      c.inc({ imei: id, link: String(t.link), direction: 'up' }, t.bytesUp);
      c.inc({ imei: id, link: String(t.link), direction: 'down' }, t.bytesDown);
    }
  });
  counter('at_commands_total', ['command'], (c, id, obs) => {
    for (const [command, s] of Object.entries(obs.stats().at.commands)) c.inc({ imei: id, command }, s.count);
  });
  counter('at_errors_total', ['command', 'kind'], (c, id, obs) => {
    for (const [command, s] of Object.entries(obs.stats().at.commands)) {
      c.inc({ imei: id, command, kind: 'error' }, s.errors);
      c.inc({ imei: id, command, kind: 'timeout' }, s.timeouts);
      c.inc({ imei: id, command, kind: 'abandoned' }, s.abandoned);
    }
  });
  add(
    `${p}at_command_duration_seconds`,
    new ObservedHistogram(() => observers.map((o) => ({ imei: imei(o), commands: o.stats().at.commands })), {
      name: `${p}at_command_duration_seconds`,
      help: METRIC_HELP.at_command_duration_seconds,
      labelNames: ['imei', 'command'],
      buckets: [...LATENCY_BUCKETS_S],
      registers,
    }),
  );

  if (options.websockets) {
    const list = options.websockets;
    const ws = (
      name: keyof typeof METRIC_HELP,
      kind: 'gauge' | 'counter',
      labelNames: string[],
      each: (
        m: Gauge<string> | Counter<string>,
        labels: { imei: string; client: string },
        s: ReturnType<WebSocketObserver['stats']>,
      ) => void,
    ) => {
      // Websocket clients belong to the process, not one module: labelled with the first module's IMEI.
      const collect = (m: Gauge<string> | Counter<string>, id: string, obs: ModemObserver) => {
        if (obs !== observers[0]) return;
        for (const [client, o] of Object.entries(list())) each(m, { imei: id, client: safeLabel(client) }, o.stats());
      };
      return kind === 'gauge'
        ? gauge(name, ['client', ...labelNames], collect)
        : counter(name, ['client', ...labelNames], collect);
    };
    const set = (m: Gauge<string> | Counter<string>, labels: Record<string, string>, v: number) =>
      'set' in m ? m.set(labels, v) : m.inc(labels, v);
    ws('websocket_open', 'gauge', [], (m, l, s) => set(m, l, s.state === 'open' ? 1 : 0));
    ws('websocket_connects_total', 'counter', [], (m, l, s) => set(m, l, s.connects));
    ws('websocket_reconnects_total', 'counter', [], (m, l, s) => set(m, l, s.reconnects));
    ws('websocket_messages_total', 'counter', ['direction'], (m, l, s) => {
      set(m, { ...l, direction: 'in' }, s.messagesIn);
      set(m, { ...l, direction: 'out' }, s.messagesOut);
    });
    ws('websocket_bytes_total', 'counter', ['direction'], (m, l, s) => {
      set(m, { ...l, direction: 'in' }, s.bytesIn);
      set(m, { ...l, direction: 'out' }, s.bytesOut);
    });
    ws(
      'websocket_ping_rtt_seconds',
      'gauge',
      [],
      (m, l, s) => s.pingRttMs !== undefined && set(m, l, s.pingRttMs / 1000),
    );
    ws('websocket_last_close_code', 'gauge', [], (m, l, s) => s.lastClose && set(m, l, s.lastClose.code));
  }

  return {
    registry,
    observers,
    unregister() {
      for (const n of names) registry.removeSingleMetric(n);
      for (const o of owned) o.close();
    },
  };
}

/**
 * A histogram whose series are the observer's own buckets, read at scrape time: commands that
 * ended before the IMEI was known or before registration are counted under the right labels.
 */
class ObservedHistogram extends Histogram<string> {
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(
    private readonly source: () => Array<{ imei: string; commands: ModemStats['at']['commands'] }>,
    config: ConstructorParameters<typeof Histogram<string>>[0],
  ) {
    super(config);
    this.metricName = config.name;
    this.metricHelp = config.help;
  }

  override async get(): ReturnType<Histogram<string>['get']> {
    const name = this.metricName;
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const { imei, commands } of this.source())
      for (const [command, c] of Object.entries(commands)) {
        const labels = { imei, command };
        let cumulative = 0;
        c.latency.buckets.forEach((le, i) => {
          cumulative += c.latency.counts[i]!;
          values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { ...labels, le: '+Inf' }, value: c.latency.count, metricName: `${name}_bucket` });
        values.push({ labels, value: c.latency.sum, metricName: `${name}_sum` });
        values.push({ labels, value: c.latency.count, metricName: `${name}_count` });
      }
    const metric = { name, help: this.metricHelp, type: 'histogram', values, aggregator: 'sum' };
    return metric as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
  }

  /** The registry's text rendering asks this instead of get() when present. */
  getForPromString(): ReturnType<Histogram<string>['get']> {
    return this.get();
  }
}

/** A client name usable as a label value: short, printable, no quotes or backslashes. */
function safeLabel(name: string): string {
  return name.replace(/[^\w.-]/g, '_').slice(0, 64) || '_';
}
