import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { httpAgent, resolveOnModule } from '../src/adapters/index.js';
import type { Modem, ModemOpenOptions } from '../src/modem/index.js';
import { websocket, type LuatWebSocket, type LuatWsEvent } from '../src/ws/index.js';
import { makeTestPki } from '../test/helpers/certs.js';
import { echoThrough, waitFor } from '../test/modem/helpers.js';

/** Where the contract runs: how to open the module and which echo servers to use. */
export interface ContractTarget {
  name: string;
  open(): Promise<Modem>;
  /** host:port of a TCP echo server reachable from the module. */
  tcpEcho: { host: string; port: number } | undefined;
  /** host:port of a TLS echo server, and the CA that signed its certificate. */
  tlsEcho: { host: string; port: number; ca: string | undefined } | undefined;
  /** Module TLS supported by the target (needs a CA file for verification). */
  moduleTls: boolean;
  /**
   * A websocket server that sends every message back as it came (text as text, binary as binary),
   * reachable from the module: ws:// or wss:// (wss verified against `ca`, else the system store).
   */
  wsEcho: { url: string; ca: string | undefined } | undefined;
  /** A host name the module's DNS (AT+CDNSGIP) resolves, and the address it must give. */
  dns: { name: string; expect: string | undefined } | undefined;
  /** An http:// URL reachable from the module and the SHA-256 of its body (hex), if known. */
  httpGet: { url: string; sha256: string | undefined } | undefined;
  teardown(): Promise<void>;
}

/** Parses `host:port`. */
export function hostPort(value: string | undefined): { host: string; port: number } | undefined {
  if (!value) return undefined;
  const m = /^(.+):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new Error(`expected host:port, got ${JSON.stringify(value)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** What a LuatOS callback saw, and a way to wait for it. */
interface LuatEvents {
  readonly events: Array<{ event: LuatWsEvent; data: unknown; payload: unknown }>;
  /** Resolves with the `count`-th event named `event` (counting from the start). */
  nth(
    event: LuatWsEvent,
    count: number,
    timeoutMs: number,
  ): Promise<{ event: LuatWsEvent; data: unknown; payload: unknown }>;
}

function recordLuat(wsc: LuatWebSocket): LuatEvents {
  const events: LuatEvents['events'] = [];
  wsc.on((_client, event, data, payload) => void events.push({ event, data, payload }));
  return {
    events,
    async nth(event, count, timeoutMs) {
      const seen = () => events.filter((e) => e.event === event);
      await waitFor(
        () => seen().length >= count,
        timeoutMs,
        `${event} #${count} (events so far: ${events.map((e) => e.event).join(', ') || 'none'})`,
      );
      return seen()[count - 1]!;
    },
  };
}

/** Text, binary and a text message sent in three frames must come back unchanged. */
async function luatEchoRound(wsc: LuatWebSocket, rec: LuatEvents, timeoutMs: number): Promise<void> {
  const before = rec.events.filter((e) => e.event === 'recv').length;
  const text = JSON.stringify({ action: 'echo', n: before, s: 'héllo ✓' });
  const binary = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + before) & 0xff));
  expect(wsc.send(text)).toBe(true);
  expect(wsc.send(binary, 1, 1)).toBe(true);
  expect(wsc.send('12', 0) && wsc.send('34', 0) && wsc.send('56', 1)).toBe(true);
  const t = await rec.nth('recv', before + 1, timeoutMs);
  expect(t).toEqual({ event: 'recv', data: text, payload: { fin: 1, opcode: 1 } });
  const b = await rec.nth('recv', before + 2, timeoutMs);
  expect(Buffer.isBuffer(b.data) && (b.data as Buffer).equals(binary)).toBe(true);
  expect(b.payload).toEqual({ fin: 1, opcode: 2 });
  expect((await rec.nth('recv', before + 3, timeoutMs)).data).toBe('123456');
}

export function readCa(file: string | undefined): string | undefined {
  return file ? readFileSync(file, 'utf8') : undefined;
}

/** The same checks for the mock and for a real module. */
export function contract(target: () => ContractTarget, options: ModemOpenOptions = {}): void {
  void options;
  describe('bring-up and info', () => {
    it('opens, comes online and reports identity and signal', async () => {
      const t = target();
      const modem = await t.open();
      try {
        expect(modem.state).toBe('online');
        const info = await modem.info();
        expect(info.firmware).toMatch(/\S/);
        expect(info.imei).toMatch(/^\d{14,17}$/);
        expect(info.registration?.registered).toBe(true);
        expect(info.ipAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        expect(info.signal?.bars).toBeGreaterThanOrEqual(0);
      } finally {
        await modem.close();
      }
    });
  });

  describe('sockets', () => {
    it('TCP echo', async (ctx) => {
      const t = target();
      if (!t.tcpEcho) return ctx.skip(`[${t.name}] AIR780_TCP_ECHO not set: TCP echo not checked`);
      const modem = await t.open();
      try {
        const s = modem.connect(t.tcpEcho.host, t.tcpEcho.port);
        await once(s, 'connect');
        const r = await echoThrough(s, 64 * 1024);
        expect(r.received).toBe(r.sent);
        s.destroy();
      } finally {
        await modem.close();
      }
    });

    it('host-TLS echo, verified', async (ctx) => {
      const t = target();
      if (!t.tlsEcho) return ctx.skip(`[${t.name}] AIR780_TLS_ECHO not set: TLS echo not checked`);
      const modem = await t.open();
      try {
        const s = await modem.openStream(t.tlsEcho.host, t.tlsEcho.port, {
          tls: 'host',
          ...(t.tlsEcho.ca ? { ca: t.tlsEcho.ca } : {}),
        });
        const r = await echoThrough(s, 32 * 1024);
        expect(r.received).toBe(r.sent);
        s.destroy();
      } finally {
        await modem.close();
      }
    });

    it('module-TLS echo', async (ctx) => {
      const t = target();
      if (!t.tlsEcho || !t.moduleTls)
        return ctx.skip(`[${t.name}] AIR780_TLS_ECHO/AIR780_TLS_CA not set: module TLS not checked`);
      const modem = await t.open();
      try {
        const s = await modem.openStream(t.tlsEcho.host, t.tlsEcho.port, { tls: 'modem', ca: t.tlsEcho.ca! });
        const r = await echoThrough(s, 16 * 1024);
        expect(r.received).toBe(r.sent);
        s.destroy();
      } finally {
        await modem.close();
      }
    });

    it('module TLS refuses the server when the CA given is not the one that signed it', async (ctx) => {
      // The firmware documents seclevel 1 as "verify the server"; this is where a module shows it.
      const t = target();
      if (!t.tlsEcho || !t.moduleTls)
        return ctx.skip(`[${t.name}] AIR780_TLS_ECHO/AIR780_TLS_CA not set: module-TLS verification not checked`);
      const stranger = makeTestPki().otherCaCert;
      const modem = await t.open();
      try {
        const err = await modem.openStream(t.tlsEcho.host, t.tlsEcho.port, { tls: 'modem', ca: stranger }).then(
          (s) => {
            s.destroy();
            return undefined;
          },
          (e: unknown) => e,
        );
        expect(err, 'module TLS connected with a CA that did not sign the server certificate').toBeInstanceOf(Error);
      } finally {
        await modem.close();
      }
    });
  });

  describe('websocket (LuatOS facade)', () => {
    it('echo: conack, text, binary and a fragmented message come back, close is clean', async (ctx) => {
      const t = target();
      if (!t.wsEcho) return ctx.skip(`[${t.name}] AIR780_WS_URL not set: websocket echo not checked`);
      const modem = await t.open();
      const wsc = websocket.create(modem, t.wsEcho.url, { keepalive: 60, ...(t.wsEcho.ca ? { ca: t.wsEcho.ca } : {}) });
      expect(wsc).not.toBeNull();
      try {
        const rec = recordLuat(wsc!);
        expect(wsc!.connect()).toBe(true);
        await rec.nth('conack', 1, 90_000);
        expect(wsc!.ready()).toBe(true);
        await luatEchoRound(wsc!, rec, 30_000);
        wsc!.disconnect();
        await rec.nth('disconnect', 1, 30_000);
        expect(wsc!.ready()).toBe(false);
        expect(rec.events.filter((e) => e.event === 'error')).toEqual([]);
      } finally {
        wsc!.close();
        await modem.close();
      }
    });

    it('autoreconn: a module reboot (AT+RESET) during an open websocket ends in a new conack and echo', async (ctx) => {
      const t = target();
      if (!t.wsEcho)
        return ctx.skip(`[${t.name}] AIR780_WS_URL not set: websocket reconnect after a reboot not checked`);
      const modem = await t.open();
      const wsc = websocket.create(modem, t.wsEcho.url, { keepalive: 60, ...(t.wsEcho.ca ? { ca: t.wsEcho.ca } : {}) });
      expect(wsc).not.toBeNull();
      try {
        const rec = recordLuat(wsc!);
        wsc!.autoreconn(true, 1000);
        expect(wsc!.connect()).toBe(true);
        await rec.nth('conack', 1, 90_000);
        await luatEchoRound(wsc!, rec, 30_000);
        const recovering = once(modem, 'recovering');
        await modem.at.send('AT+RESET').catch(() => undefined);
        await recovering;
        await rec.nth('disconnect', 1, 30_000);
        // Reconnect attempts while the module is down fail and are retried: wait for the next conack.
        await rec.nth('conack', 2, 170_000);
        expect(modem.state).toBe('online');
        expect(wsc!.ready()).toBe(true);
        await luatEchoRound(wsc!, rec, 30_000);
      } finally {
        wsc!.close();
        await modem.close();
      }
    });
  });

  describe('library adapters', () => {
    it('module DNS: a name resolves through AT+CDNSGIP, never the host resolver', async (ctx) => {
      const t = target();
      if (!t.dns) return ctx.skip(`[${t.name}] no name to resolve (AIR780_DNS_NAME, or a TCP echo host given by name)`);
      const modem = await t.open();
      try {
        const addresses = await resolveOnModule(modem, t.dns.name);
        expect(addresses.length).toBeGreaterThan(0);
        for (const a of addresses) expect(isIP(a)).toBe(4);
        if (t.dns.expect) expect(addresses).toContain(t.dns.expect);
      } finally {
        await modem.close();
      }
    });

    it('http GET through modem.httpAgent(): the body arrives whole, twice over one kept-alive link', async (ctx) => {
      const t = target();
      if (!t.httpGet) return ctx.skip(`[${t.name}] AIR780_HTTP_URL not set: HTTP through the agent not checked`);
      const { url, sha256 } = t.httpGet;
      const modem = await t.open();
      try {
        const agent = httpAgent(modem);
        const get = () =>
          new Promise<{ hash: string; socket: unknown }>((resolve, reject) => {
            const req = http.get(url, { agent }, (res) => {
              const h = createHash('sha256');
              res.on('data', (d: Buffer) => h.update(d));
              res.on('end', () => resolve({ hash: h.digest('hex'), socket: req.socket }));
              res.on('error', reject);
            });
            req.on('error', reject);
          });
        const first = await get();
        const second = await get();
        if (sha256) expect(first.hash).toBe(sha256);
        expect(second.hash).toBe(first.hash);
        expect(second.socket).toBe(first.socket);
        agent.destroy();
      } finally {
        await modem.close();
      }
    });
  });

  describe('recovery', () => {
    it('comes back online after AT+RESET and opens sockets again', async () => {
      const t = target();
      const modem = await t.open();
      try {
        const recovering = once(modem, 'recovering');
        await modem.at.send('AT+RESET').catch(() => undefined);
        await recovering;
        await waitFor(() => modem.state === 'online', 170_000, 'online after AT+RESET');
        if (t.tcpEcho) {
          const s = modem.connect(t.tcpEcho.host, t.tcpEcho.port);
          await once(s, 'connect');
          const r = await echoThrough(s, 4096);
          expect(r.received).toBe(r.sent);
          s.destroy();
        }
      } finally {
        await modem.close();
      }
    });
  });
}
