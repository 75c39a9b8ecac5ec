import { isIP } from 'node:net';
import { describe, it } from 'vitest';
import { Modem } from '../src/modem/index.js';
import { contract, hostPort, readCa, type ContractTarget } from './contract.js';

const port = process.env.AIR780_PORT;

if (port) {
  describe(`contract: real module on ${port}`, () => {
    contract((): ContractTarget => {
      const tls = hostPort(process.env.AIR780_TLS_ECHO);
      const ca = readCa(process.env.AIR780_TLS_CA);
      const tcpEcho = hostPort(process.env.AIR780_TCP_ECHO);
      const dnsName = process.env.AIR780_DNS_NAME ?? (tcpEcho && !isIP(tcpEcho.host) ? tcpEcho.host : undefined);
      return {
        name: port,
        open: () =>
          Modem.open({
            path: port,
            ...(process.env.AIR780_BAUD ? { baudRate: Number(process.env.AIR780_BAUD) } : {}),
            ...(process.env.AIR780_APN ? { apn: process.env.AIR780_APN } : {}),
            connectTimeoutMs: 60_000,
          }),
        tcpEcho,
        tlsEcho: tls ? { ...tls, ca } : undefined,
        moduleTls: ca !== undefined,
        wsEcho: process.env.AIR780_WS_URL
          ? { url: process.env.AIR780_WS_URL, ca: readCa(process.env.AIR780_WS_CA) }
          : undefined,
        dns: dnsName ? { name: dnsName, expect: undefined } : undefined,
        httpGet: process.env.AIR780_HTTP_URL
          ? { url: process.env.AIR780_HTTP_URL, sha256: process.env.AIR780_HTTP_SHA256 }
          : undefined,
        async teardown() {},
      };
    });
  });
} else {
  describe('contract: real module', () => {
    // Reported as skipped, not passed: nothing was checked against hardware.
    it.skip('is not run: AIR780_PORT is not set (see hw-tests/README.md); the mock contract ran instead', () => {});
  });
}
