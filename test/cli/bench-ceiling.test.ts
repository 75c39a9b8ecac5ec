import { describe, expect, it } from 'vitest';
import { ceilingBytesPerSec, ceilingFractionOf, exchangeBytes, wsFrameOverhead } from '../../src/bench/ceiling.js';
import { ceilingLines, record, toSvg } from '../../src/bench/report.js';

describe('stop-and-wait ceiling', () => {
  it('counts the exchange bytes of each direction byte for byte', () => {
    // 'AT+CIPSEND=0,1460\r' + chunk up; '\r\n> ' + '\r\nDATA ACCEPT:0,1460\r\n' down.
    expect(exchangeBytes('up', 'push', 1460)).toEqual({ up: 18 + 1460, down: 4 + 22, commands: 1 });
    // 'AT+CIPRXGET=2,0,1460\r' up; '\r\n+CIPRXGET: 2,0,1460,1460\r\n' + chunk + '\r\nOK\r\n' down.
    expect(exchangeBytes('down', 'pull', 1460)).toEqual({ up: 21, down: 28 + 1460 + 6, commands: 1 });
    // '\r\n+RECEIVE,0,1460:\r\n' + chunk, no command.
    expect(exchangeBytes('down', 'push', 1460)).toEqual({ up: 0, down: 20 + 1460, commands: 0 });
  });

  it('is the chunk over wire time plus one latency per command, times the framing share', () => {
    const up = ceilingBytesPerSec({ baud: 115200, latencyMs: 2, direction: 'up', rxMode: 'push' })!;
    expect(up).toBeCloseTo(1460 / ((1504 * 10) / 115200 + 0.002), 6);
    expect(up / 11520).toBeCloseTo(0.9561, 4);
    const pull = ceilingBytesPerSec({ baud: 115200, latencyMs: 2, direction: 'down', rxMode: 'pull' })!;
    expect(pull / 11520).toBeCloseTo(0.9493, 4);
    const push = ceilingBytesPerSec({ baud: 115200, latencyMs: 2, direction: 'down', rxMode: 'push' })!;
    expect(push / 11520).toBeCloseTo(1460 / 1480, 6);
    const framed = ceilingBytesPerSec({
      baud: 115200,
      latencyMs: 2,
      direction: 'up',
      rxMode: 'push',
      messageBytes: 16384,
      frameOverhead: 8,
    })!;
    expect(framed / up).toBeCloseTo(16384 / 16392, 9);
  });

  it('unthrottled leaves the latency only; push download has no ceiling', () => {
    expect(ceilingBytesPerSec({ baud: 0, latencyMs: 2, direction: 'up', rxMode: 'pull' })).toBeCloseTo(730_000, 0);
    expect(ceilingBytesPerSec({ baud: 0, latencyMs: 2, direction: 'down', rxMode: 'push' })).toBeNull();
    expect(ceilingFractionOf(1e6, { baud: 0, latencyMs: 2, direction: 'down', rxMode: 'push' })).toBeNull();
    expect(ceilingFractionOf(365_000, { baud: 0, latencyMs: 2, direction: 'up', rxMode: 'push' })).toBeCloseTo(0.5, 9);
  });

  it('frame overhead: 2 + extended length + the mask on what the client sends', () => {
    expect(wsFrameOverhead(16384, 'up')).toBe(8);
    expect(wsFrameOverhead(16384, 'down')).toBe(4);
    expect(wsFrameOverhead(100, 'down')).toBe(2);
    expect(wsFrameOverhead(70_000, 'up')).toBe(14);
  });
});

describe('ceiling in the report', () => {
  const recs = [
    record({
      name: 'ws-throughput',
      transport: 'modem-mock',
      baud: 115200,
      direction: 'up',
      rxMode: 'push',
      payloadBytesPerSec: 10600,
      lineFraction: 10600 / 11520,
      ceilingFraction: 0.964,
    }),
    record({
      name: 'at-floor',
      transport: 'at-floor',
      baud: 115200,
      direction: 'up',
      rxMode: 'push',
      payloadBytesPerSec: 10700,
      lineFraction: 10700 / 11520,
      ceilingFraction: 0.972,
    }),
    record({
      name: 'ws-throughput',
      transport: 'modem-mock',
      baud: 921600,
      direction: 'up',
      rxMode: 'push',
      payloadBytesPerSec: 50000,
      lineFraction: 50000 / 92160,
      ceilingFraction: 0.62,
    }),
    record({
      name: 'at-floor',
      transport: 'at-floor',
      baud: 921600,
      direction: 'up',
      rxMode: 'push',
      payloadBytesPerSec: 60000,
      lineFraction: 60000 / 92160,
      ceilingFraction: 0.75,
    }),
    record({
      name: 'ws-json-plain',
      transport: 'modem-mock',
      baud: 115200,
      direction: 'down',
      payloadBytesPerSec: 11300,
      lineFraction: 0.98,
    }),
    record({
      name: 'ws-json-deflate',
      transport: 'modem-mock',
      baud: 115200,
      direction: 'down',
      payloadBytesPerSec: 43000,
      lineFraction: 3.76,
    }),
  ];

  it('says how close we come and whether the bare exchange comes closer', () => {
    const lines = ceilingLines(recs);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      'ceiling 115200 up (push): the protocol allows 0.955 of line; ours 0.964 of it; bare AT exchange 0.972 of it, so the rest is held back by the mock and the pty, not the driver',
    );
    expect(lines[1]).toMatch(
      /^ceiling 921600 up \(push\): .*ours 0\.620 of it; bare AT exchange 0\.750 of it, so the driver costs 0\.130 of it$/,
    );
  });

  it('draws a panel per line rate with the ceiling across each bar, and the compression gain apart', () => {
    const svg = toSvg(recs);
    expect(svg.match(/<text [^>]*font-size="13">/g)).toHaveLength(3);
    expect(svg).toContain('115200 baud');
    expect(svg).toContain('921600 baud');
    expect(svg).toContain('permessage-deflate');
    // One red ceiling tick per bar that has a ceiling (4), plus the legend's.
    expect(svg.match(/stroke="#c00" stroke-width="2"/g)).toHaveLength(5);
    // The deflate bars are not on the line-rate panels' scale: their axis reaches 4.
    expect(svg).toContain('>4.00<');
  });
});
