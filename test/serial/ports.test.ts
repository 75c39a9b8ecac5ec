import { afterEach, describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PortInfo } from '@serialport/bindings-cpp';
import {
  atPortCandidates,
  describePort,
  interfaceFromIds,
  interfaceFromSysfs,
  listPorts,
} from '../../src/modem/serial/index.js';
import { fakeBinding } from './fake-binding.js';

function port(p: Partial<PortInfo> & { path: string }): PortInfo {
  return {
    manufacturer: undefined,
    serialNumber: undefined,
    pnpId: undefined,
    locationId: undefined,
    productId: undefined,
    vendorId: undefined,
    ...p,
  };
}

const air = (path: string, pnpId?: string) =>
  port({ path, vendorId: '19d1', productId: '0001', manufacturer: 'EigenComm', serialNumber: '000000000001', pnpId });

describe('describePort', () => {
  it('marks 19d1:0001 in any spelling and nothing else', () => {
    expect(describePort(air('/dev/ttyACM0')).isAir780).toBe(true);
    expect(describePort(port({ path: '/dev/ttyACM0', vendorId: '19D1', productId: '0001' })).isAir780).toBe(true);
    expect(describePort(port({ path: '/dev/ttyACM0', vendorId: '0x19d1', productId: '0x0001' })).isAir780).toBe(true);
    expect(describePort(port({ path: '/dev/ttyACM0', vendorId: '19d1', productId: '1' })).isAir780).toBe(true);
    expect(describePort(port({ path: '/dev/ttyACM0', vendorId: '19d1', productId: '0002' })).isAir780).toBe(false);
    expect(describePort(port({ path: '/dev/ttyUSB0', vendorId: '1a86', productId: '7523' })).isAir780).toBe(false);
    expect(describePort(port({ path: '/dev/ttyS0' })).isAir780).toBe(false);
    expect(describePort(port({ path: '/dev/ttyS0', vendorId: 'zz19d1', productId: '0001' })).isAir780).toBe(false);
  });

  it('derives the interface and the role from udev, Windows and location ids', () => {
    const at6 = describePort(air('/dev/ttyACM5', 'usb-EigenComm_EigenComm_Compo_000000000001-if06'));
    expect(at6).toMatchObject({
      isAir780: true,
      interfaceNumber: 6,
      role: 'at',
      path: '/dev/ttyACM5',
      manufacturer: 'EigenComm',
    });
    expect(describePort(air('/dev/ttyACM4', 'usb-EigenComm_EigenComm_Compo_000000000001-if04'))).toMatchObject({
      interfaceNumber: 4,
      role: 'diag',
    });
    expect(describePort(air('COM7', 'USB\\VID_19D1&PID_0001&MI_02\\6&1A2B3C4D&0&0002'))).toMatchObject({
      interfaceNumber: 2,
      role: 'at',
    });
    expect(interfaceFromIds({ pnpId: undefined, locationId: '1-2:1.6' })).toBe(6);
    expect(interfaceFromIds({ pnpId: 'usb-FTDI_FT232R-if00-port0', locationId: undefined })).toBe(0);
    expect(interfaceFromIds({ pnpId: 'usb-Some_Thing', locationId: undefined })).toBeUndefined();
    expect(describePort(air('/dev/ttyACM3'))).toMatchObject({ interfaceNumber: undefined, role: 'unknown' });
  });

  it('lets the sysfs interface win and gives non-Air780 ports no role', () => {
    expect(describePort(air('/dev/ttyACM3', 'usb-x-if04'), 2)).toMatchObject({ interfaceNumber: 2, role: 'at' });
    expect(describePort(port({ path: '/dev/ttyACM0', vendorId: '2341', productId: '0043' }), 2)).toMatchObject({
      interfaceNumber: 2,
      role: 'unknown',
      isAir780: false,
    });
  });

  it('orders AT candidates 6, 2, unknown and leaves out DIAG and other devices', () => {
    const ports = [
      port({ path: '/dev/ttyUSB0', vendorId: '1a86', productId: '7523' }),
      air('/dev/ttyACM9'),
      air('/dev/ttyACM3', 'usb-x-if02'),
      air('/dev/ttyACM4', 'usb-x-if04'),
      air('/dev/ttyACM5', 'usb-x-if06'),
    ].map((p) => describePort(p));
    expect(atPortCandidates(ports).map((p) => p.path)).toEqual(['/dev/ttyACM5', '/dev/ttyACM3', '/dev/ttyACM9']);
  });
});

describe('sysfs and listPorts', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await fsp.rm(root, { recursive: true, force: true });
    root = undefined;
  });

  async function fakeSys(): Promise<string> {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'air780-sys-'));
    // ttyACM5: a device dir with bInterfaceNumber (hex, as the kernel writes it)
    const acm5 = path.join(root, 'class/tty/ttyACM5/device');
    await fsp.mkdir(acm5, { recursive: true });
    await fsp.writeFile(path.join(acm5, 'bInterfaceNumber'), '06\n');
    // ttyACM3: only the link to the interface, named <bus>-<port>:<config>.<interface>
    const iface = path.join(root, 'devices/pci0000:00/usb1/1-2/1-2:1.2');
    await fsp.mkdir(iface, { recursive: true });
    await fsp.mkdir(path.join(root, 'class/tty/ttyACM3'), { recursive: true });
    await fsp.symlink(iface, path.join(root, 'class/tty/ttyACM3/device'));
    // ttyACM4: interface 4, hex file
    const acm4 = path.join(root, 'class/tty/ttyACM4/device');
    await fsp.mkdir(acm4, { recursive: true });
    await fsp.writeFile(path.join(acm4, 'bInterfaceNumber'), '04\n');
    // ttyS1: a platform UART whose device link name also has a ':' and a '.'
    const platform = path.join(root, 'devices/platform/00:00:0.0');
    await fsp.mkdir(platform, { recursive: true });
    await fsp.mkdir(path.join(root, 'class/tty/ttyS1'), { recursive: true });
    await fsp.symlink(platform, path.join(root, 'class/tty/ttyS1/device'));
    return root;
  }

  it('reads bInterfaceNumber or the interface link name', async () => {
    const sys = await fakeSys();
    expect(await interfaceFromSysfs('/dev/ttyACM5', sys)).toBe(6);
    expect(await interfaceFromSysfs('/dev/ttyACM3', sys)).toBe(2);
    expect(await interfaceFromSysfs('/dev/ttyS0', sys)).toBeUndefined();
    expect(await interfaceFromSysfs('/dev/ttyS1', sys)).toBeUndefined(); // platform device, not USB
    expect(await interfaceFromSysfs('/dev/../etc', sys)).toBeUndefined();
  });

  it('lists through a binding and marks each port', async () => {
    const sys = await fakeSys();
    const binding = fakeBinding([
      air('/dev/ttyACM3'),
      air('/dev/ttyACM4'),
      air('/dev/ttyACM5'),
      port({ path: '/dev/ttyS0' }),
    ]);
    const ports = await listPorts({ binding, sysRoot: sys });
    expect(ports.map((p) => [p.path, p.isAir780, p.interfaceNumber, p.role])).toEqual([
      ['/dev/ttyACM3', true, 2, 'at'],
      ['/dev/ttyACM4', true, 4, 'diag'],
      ['/dev/ttyACM5', true, 6, 'at'],
      ['/dev/ttyS0', false, undefined, 'unknown'],
    ]);
    expect(atPortCandidates(ports).map((p) => p.path)).toEqual(['/dev/ttyACM5', '/dev/ttyACM3']);
  });
});
