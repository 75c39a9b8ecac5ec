/**
 * `air780 ports --probe` writes only to Air780 ports; `--probe-all` to every port, with a warning.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { skipReason } from '../../src/cli/commands/ports.js';
import { describePort } from '../../src/modem/serial/ports.js';
import { ensureBuilt, runCli } from './build.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

const port = (path: string, vendorId?: string, productId?: string, iface?: number) =>
  describePort(
    {
      path,
      manufacturer: undefined,
      serialNumber: undefined,
      pnpId: undefined,
      locationId: undefined,
      vendorId,
      productId,
    },
    iface,
  );

describe('which ports a probe touches', () => {
  const ttyS0 = port('/dev/ttyS0');
  const arduino = port('/dev/ttyACM0', '2341', '0043', 0);
  const at = port('/dev/ttyACM2', '19d1', '0001', 2);
  const at6 = port('/dev/ttyACM4', '19d1', '0001', 6);
  const diag = port('/dev/ttyACM3', '19d1', '0001', 4);
  const unknownIface = port('/dev/ttyACM5', '19D1', '0001');

  it('--probe: Air780 AT interfaces (and Air780 ports of unknown interface) only', () => {
    expect([ttyS0, arduino, at, at6, diag, unknownIface].map((p) => skipReason(p, false))).toEqual([
      'not probed (not an Air780; --probe-all probes it)',
      'not probed (not an Air780; --probe-all probes it)',
      undefined,
      undefined,
      'skipped (log/DIAG port)',
      undefined,
    ]);
  });

  it('--probe-all: everything but the log port', () => {
    expect([ttyS0, arduino, at, diag].map((p) => skipReason(p, true))).toEqual([
      undefined,
      undefined,
      undefined,
      'skipped (log/DIAG port)',
    ]);
  });
});

describe('air780 ports --probe on this machine', () => {
  it('never opens a port that is not an Air780', async () => {
    const r = await runCli(['ports', '--probe', '--json'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ path: string; isAir780: boolean; probe: string }>;
    for (const p of list.filter((x) => !x.isAir780)) {
      expect(p.probe).toBe('not probed (not an Air780; --probe-all probes it)');
      expect(r.stderr).not.toContain(`probing ${p.path}`);
    }
    expect(r.stderr).not.toContain('--probe-all writes AT');
  });
});
