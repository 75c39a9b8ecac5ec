// The status page: renders /status.json documents pushed over server-sent events (/events).
// No framework and no build step; every value goes in through textContent, never as markup.

const SVG = 'http://www.w3.org/2000/svg';
const TRAFFIC_POINTS = 300; // about five minutes at one update a second
/** Per module (by IMEI or index): the previous document's counters, for rates and the traffic chart. */
const history = new Map();

function el(tag, attrs, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 && s < 600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 60)} min`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function rate(bps) {
  return `${bytes(Math.round(bps))}/s`;
}

function kv(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    dl.append(el('dt', {}, k), el('dd', {}, v === undefined || v === null || v === '' ? '—' : v));
  }
}

function drawBars(svg, bars, known) {
  svg.replaceChildren();
  svg.classList.toggle('weak', known && bars <= 2 && bars > 0);
  svg.classList.toggle('none', !known || bars === 0);
  for (let i = 0; i < 5; i++) {
    const h = 6 + i * 6;
    svg.append(
      el('svg:rect', { x: i * 10 + 1, y: 30 - h, width: 8, height: h, rx: 1.5, class: known && i < bars ? 'on' : '' }),
    );
  }
}

/** A line chart: series of [x, y] in data units, drawn into a 320×110 box with labelled axes. */
function drawChart(svg, series, opts) {
  svg.replaceChildren();
  const L = 56,
    R = 314,
    T = 8,
    B = 92;
  const { xMin, xMax, yMin, yMax } = opts;
  const sx = (x) => L + ((x - xMin) / (xMax - xMin || 1)) * (R - L);
  const sy = (y) => B - ((y - yMin) / (yMax - yMin || 1)) * (B - T);
  for (const t of opts.yTicks) {
    svg.append(el('svg:line', { x1: L, x2: R, y1: sy(t), y2: sy(t), class: 'grid' }));
    svg.append(el('svg:text', { x: L - 4, y: sy(t) + 3, 'text-anchor': 'end' }, opts.yLabel(t)));
  }
  svg.append(el('svg:text', { x: L, y: 106 }, opts.xStart));
  svg.append(el('svg:text', { x: R, y: 106, 'text-anchor': 'end' }, opts.xEnd));
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points
      .map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(Math.min(yMax, Math.max(yMin, y))).toFixed(1)}`)
      .join(' ');
    svg.append(el('svg:path', { d, class: s.cls }));
    if (s.points.length === 1) {
      const [x, y] = s.points[0];
      svg.append(el('svg:circle', { cx: sx(x), cy: sy(y), r: 2.5, class: s.cls }));
    }
  }
  if (opts.empty && series.every((s) => s.points.length === 0)) {
    svg.append(el('svg:text', { x: (L + R) / 2, y: (T + B) / 2, 'text-anchor': 'middle' }, opts.empty));
  }
}

function niceMax(v) {
  if (v <= 1024) return 1024;
  const p = 2 ** Math.ceil(Math.log2(v));
  return p;
}

function renderModule(node, m, now, key) {
  const q = (sel) => node.querySelector(sel);
  const id = m.identity;
  q('.model').textContent = id.model || 'Module';
  q('.imei').textContent = id.imei || 'reading…';
  const st = q('.state');
  st.textContent = m.state.current;
  st.className = `state ${m.state.current}`;
  q('.since').textContent = `since ${clock(m.state.since)} (${duration(now - m.state.since)})`;
  const tl = q('.transitions');
  tl.replaceChildren();
  for (const t of m.state.transitions.slice(-6).reverse()) {
    tl.append(el('li', {}, `${clock(t.at)} ${t.from} → ${t.to}${t.reason ? ` (${t.reason})` : ''}`));
  }

  const sig = m.network.signal;
  const known = !!sig && sig.dbm !== undefined && sig.dbm !== null;
  drawBars(q('.bars'), sig ? sig.bars : 0, known);
  q('.dbm').textContent = known ? `${sig.dbm} dBm` : sig ? 'no signal' : 'not sampled';
  const detail = [];
  if (sig) detail.push(`${sig.bars}/5 bars`, `CSQ ${sig.rssi}`);
  if (sig && sig.rsrpDbm !== undefined) detail.push(`RSRP ${sig.rsrpDbm} dBm`);
  if (sig && sig.rsrqDb !== undefined) detail.push(`RSRQ ${sig.rsrqDb} dB`);
  q('.sig-detail').textContent = detail.join(' · ');
  const reg = m.network.registration;
  kv(q('.net'), [
    ['Operator', [m.network.operator, m.network.accessTechnology].filter(Boolean).join(' · ')],
    ['Registration', reg ? `${reg.text}${reg.roaming ? ' (roaming)' : ''}` : undefined],
    ['IP', m.network.ipAddress],
    ['Sampled', sig ? `${clock(sig.at)}` : undefined],
  ]);
  // The last hour, or since the first sample when that is shorter (at least a minute shown).
  const samples = m.signalHistory.filter((s) => s.dbm !== undefined && s.dbm !== null).map((s) => [s.at, s.dbm]);
  const from = Math.max(now - 3600_000, Math.min(samples.length ? samples[0][0] : now, now - 60_000));
  drawChart(q('.sig-chart'), [{ cls: 'sig', points: samples }], {
    xMin: from,
    xMax: now,
    yMin: -113,
    yMax: -51,
    yTicks: [-110, -90, -70, -51],
    yLabel: (t) => `${t} dBm`,
    xStart: `−${duration(now - from)}`,
    xEnd: 'now',
    empty: 'no samples yet',
  });

  // Rates over at least a second (documents also come closer together, on every change).
  const linkBytes = (l) => l.bytesUp + l.bytesDown;
  let h = history.get(key);
  if (!h) {
    h = {
      base: { at: now, serialIn: m.serial.bytesIn, serialOut: m.serial.bytesOut, links: new Map() },
      linkRates: new Map(),
      up: [],
      down: [],
    };
    for (const l of m.links) h.base.links.set(l.id, linkBytes(l));
    history.set(key, h);
  }
  const dt = (now - h.base.at) / 1000;
  if (dt >= 1) {
    h.up.push([now, Math.max(0, (m.serial.bytesOut - h.base.serialOut) / dt)]);
    h.down.push([now, Math.max(0, (m.serial.bytesIn - h.base.serialIn) / dt)]);
    while (h.up.length > TRAFFIC_POINTS) h.up.shift();
    while (h.down.length > TRAFFIC_POINTS) h.down.shift();
    h.linkRates = new Map();
    const links = new Map();
    for (const l of m.links) {
      const before = h.base.links.get(l.id);
      if (before !== undefined) h.linkRates.set(l.id, Math.max(0, (linkBytes(l) - before) / dt));
      links.set(l.id, linkBytes(l));
    }
    h.base = { at: now, serialIn: m.serial.bytesIn, serialOut: m.serial.bytesOut, links };
  }
  const lastUp = h.up.length ? h.up[h.up.length - 1][1] : 0;
  const lastDown = h.down.length ? h.down[h.down.length - 1][1] : 0;
  q('.rates').textContent = `▲ ${rate(lastUp)} ▼ ${rate(lastDown)}`;
  q('.totals').textContent = `total ▲ ${bytes(m.serial.bytesOut)} ▼ ${bytes(m.serial.bytesIn)}`;
  const peak = niceMax(Math.max(1, ...h.up.map((p) => p[1]), ...h.down.map((p) => p[1])));
  const start = h.up.length ? h.up[0][0] : now - 60_000;
  drawChart(
    q('.traffic-chart'),
    [
      { cls: 'up', points: h.up },
      { cls: 'down', points: h.down },
    ],
    {
      xMin: Math.min(start, now - 60_000),
      xMax: now,
      yMin: 0,
      yMax: peak,
      yTicks: [0, peak / 2, peak],
      yLabel: (t) => `${bytes(t)}/s`,
      xStart: `−${duration(now - Math.min(start, now - 60_000))}`,
      xEnd: 'now',
      empty: 'collecting…',
    },
  );

  const tbody = q('.links tbody');
  tbody.replaceChildren();
  const rows = [...m.links, ...m.closedLinks.slice(0, 3)];
  for (const l of rows) {
    const r = h.linkRates.get(l.id);
    const tr = el('tr', { class: l.state, 'data-link': l.id });
    tr.append(
      el('td', {}, l.link >= 0 ? l.link : '–'),
      el('td', { class: 'dest' }, l.destination),
      el('td', {}, l.tls === 'none' ? '—' : l.tls),
      el(
        'td',
        {},
        l.state === 'closed'
          ? 'closed'
          : l.state === 'connecting'
            ? 'connecting'
            : duration(now - (l.connectedAt || l.openedAt)),
      ),
      el('td', {}, bytes(l.bytesUp)),
      el('td', {}, bytes(l.bytesDown)),
      el('td', {}, l.state === 'open' && r !== undefined ? rate(r) : ''),
    );
    tbody.append(tr);
  }
  q('.links .count').textContent = `${m.links.length} open`;
  q('.links .empty').classList.toggle('hidden', rows.length > 0);
  q('.links table').classList.toggle('hidden', rows.length === 0);

  const ev = q('.event-list');
  ev.replaceChildren();
  for (const e of [...m.events].reverse()) {
    const li = el('li', { 'data-kind': e.kind });
    li.append(el('time', {}, clock(e.at)), el('span', { class: `tag ${e.kind}` }, e.kind), el('span', {}, e.message));
    ev.append(li);
  }
  q('.events .empty').classList.toggle('hidden', m.events.length > 0);
  const r = m.recoveries;
  q('.recov').textContent =
    `recoveries: ${r.total} (reboot ${r.reboot}, PDP ${r.pdp}, port ${r.port}, unresponsive ${r.unresponsive})`;

  const at = q('.at tbody');
  at.replaceChildren();
  const cmds = Object.entries(m.at.commands)
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, 12);
  for (const [name, c] of cmds) {
    const avg = c.latency.count ? `${((c.latency.sum / c.latency.count) * 1000).toFixed(1)} ms` : '—';
    const tr = el('tr');
    tr.append(
      el('td', { class: 'mono' }, name),
      el('td', {}, c.count),
      el('td', {}, c.errors),
      el('td', {}, c.timeouts),
      el('td', {}, avg),
    );
    at.append(tr);
  }

  kv(q('.id'), [
    ['IMEI', id.imei],
    ['ICCID', id.iccid],
    ['IMSI', id.imsi],
    ['Model', id.model],
    ['Firmware', id.firmware],
  ]);
}

function render(doc) {
  const main = document.getElementById('modules');
  const tpl = document.getElementById('module-tpl');
  while (main.children.length < doc.modules.length) main.append(tpl.content.firstElementChild.cloneNode(true));
  while (main.children.length > doc.modules.length) main.lastElementChild.remove();
  doc.modules.forEach((m, i) => {
    renderModule(main.children[i], m, doc.takenAt, m.identity.imei || `#${i}`);
  });
  document.title = `${doc.modules.map((m) => m.state.current).join(', ') || 'no module'} · air780 status`;

  const ws = Object.entries(doc.websockets || {});
  const box = document.getElementById('websockets');
  box.classList.toggle('hidden', ws.length === 0);
  const tb = box.querySelector('tbody');
  tb.replaceChildren();
  for (const [name, s] of ws) {
    const tr = el('tr');
    tr.append(
      el('td', {}, name),
      el('td', {}, s.state),
      el('td', {}, `${s.messagesIn} / ${s.messagesOut}`),
      el('td', {}, `${bytes(s.bytesIn)} / ${bytes(s.bytesOut)}`),
      el('td', {}, s.reconnects),
      el(
        'td',
        {},
        s.lastClose
          ? `${s.lastClose.code}${s.lastClose.reason ? ` ${s.lastClose.reason}` : ''} at ${clock(s.lastClose.at)}`
          : '—',
      ),
      el('td', {}, s.pingRttMs !== undefined && s.pingRttMs !== null ? `${s.pingRttMs.toFixed(0)} ms` : '—'),
    );
    tb.append(tr);
  }
}

function connect() {
  const live = document.getElementById('live');
  const es = new EventSource('events');
  es.addEventListener('status', (e) => {
    live.textContent = 'live';
    live.className = 'live on';
    render(JSON.parse(e.data));
  });
  es.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  };
}

connect();
