import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Modem, type ModemOpenOptions } from '../src/modem/index.js';
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
  teardown(): Promise<void>;
}

/** Parses `host:port`. */
export function hostPort(value: string | undefined): { host: string; port: number } | undefined {
  if (!value) return undefined;
  const m = /^(.+):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new Error(`expected host:port, got ${JSON.stringify(value)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
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
        const s = await modem.openStream(t.tlsEcho.host, t.tlsEcho.port, { tls: 'host', ...(t.tlsEcho.ca ? { ca: t.tlsEcho.ca } : {}) });
        const r = await echoThrough(s, 32 * 1024);
        expect(r.received).toBe(r.sent);
        s.destroy();
      } finally {
        await modem.close();
      }
    });

    it('module-TLS echo', async (ctx) => {
      const t = target();
      if (!t.tlsEcho || !t.moduleTls) return ctx.skip(`[${t.name}] AIR780_TLS_ECHO/AIR780_TLS_CA not set: module TLS not checked`);
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
