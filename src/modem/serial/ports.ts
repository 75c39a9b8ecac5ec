import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { PortInfo } from '@serialport/bindings-cpp';

/** USB ids of the Air780E family in its default USB mode (`AT+SETUSB` can change them). */
export const AIR780_USB_VENDOR_ID = '19d1';
export const AIR780_USB_PRODUCT_ID = '0001';

/**
 * What a port is to us, by USB interface number of the module's composite device:
 * 2 and 6 are CDC-ACM ports that answer AT (which one depends on the firmware: probe both, 6 first),
 * 4 is the binary log/DIAG port (never send AT there).
 */
export type Air780PortRole = 'at' | 'diag' | 'unknown';

/** A port as listed by serialport, plus what we know about it. */
export interface SerialPortInfo extends PortInfo {
  /** True when the USB ids are 19d1:0001. */
  isAir780: boolean;
  /** USB interface number of this tty, when it could be derived. */
  interfaceNumber: number | undefined;
  /** 'at' for interfaces 2 and 6, 'diag' for 4, otherwise 'unknown' (also for non-Air780 ports). */
  role: Air780PortRole;
}

function normaliseHexId(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const s = id.trim().toLowerCase().replace(/^0x/, '');
  return /^[0-9a-f]{1,4}$/.test(s) ? s.padStart(4, '0') : undefined;
}

/** Interface number from a udev by-id name (`…-if06`), a Windows pnpId (`…&MI_06`) or a location (`…:1.6`). */
export function interfaceFromIds(info: Pick<PortInfo, 'pnpId' | 'locationId'>): number | undefined {
  const pnp = info.pnpId ?? '';
  const m = /-if([0-9a-f]{2})(?:-|$)/i.exec(pnp) ?? /[&\\]MI_([0-9a-f]{2})/i.exec(pnp);
  if (m) return parseInt(m[1]!, 16);
  const loc = /:\d+\.(\d+)$/.exec(info.locationId ?? '');
  if (loc) return parseInt(loc[1]!, 10);
  return undefined;
}

/**
 * Interface number from sysfs: `/sys/class/tty/<name>/device` is the USB interface of a USB tty,
 * holding `bInterfaceNumber` (hex). Undefined for anything that is not a USB interface.
 */
export async function interfaceFromSysfs(devicePath: string, sysRoot = '/sys'): Promise<number | undefined> {
  const name = path.basename(devicePath);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return undefined;
  const deviceDir = path.join(sysRoot, 'class', 'tty', name, 'device');
  try {
    const text = await fsp.readFile(path.join(deviceDir, 'bInterfaceNumber'), 'utf8');
    const n = parseInt(text.trim(), 16);
    if (Number.isInteger(n) && n >= 0 && n < 256) return n;
  } catch {
    // not a USB interface, or no sysfs: fall back to the link name
  }
  try {
    // Only a USB interface is named <bus>-<port path>:<config>.<interface> (e.g. 1-1.3:1.6);
    // platform devices look alike (00:00:0.0) and must not match.
    const target = path.basename(await fsp.readlink(deviceDir));
    const m = /^\d+-\d+(?:\.\d+)*:\d+\.(\d+)$/.exec(target);
    if (m) return parseInt(m[1]!, 10);
  } catch {
    // no such link
  }
  return undefined;
}

/** Mark one listed port. `sysfsInterface`, when known, wins over what the ids suggest. */
export function describePort(info: PortInfo, sysfsInterface?: number): SerialPortInfo {
  const isAir780 =
    normaliseHexId(info.vendorId) === AIR780_USB_VENDOR_ID && normaliseHexId(info.productId) === AIR780_USB_PRODUCT_ID;
  const interfaceNumber = sysfsInterface ?? interfaceFromIds(info);
  let role: Air780PortRole = 'unknown';
  if (isAir780 && interfaceNumber !== undefined) {
    if (interfaceNumber === 2 || interfaceNumber === 6) role = 'at';
    else if (interfaceNumber === 4) role = 'diag';
  }
  return { ...info, isAir780, interfaceNumber, role };
}

/**
 * The Air780 ports worth probing for AT, in order: interface 6, then 2, then Air780 ports whose
 * interface is unknown. The DIAG port (interface 4) and ports of other devices are left out.
 */
export function atPortCandidates(ports: readonly SerialPortInfo[]): SerialPortInfo[] {
  const rank = (p: SerialPortInfo): number => (p.interfaceNumber === 6 ? 0 : p.role === 'at' ? 1 : 2);
  return ports
    .filter((p) => p.isAir780 && p.role !== 'diag')
    .map((p, i) => ({ p, i }))
    .sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i)
    .map(({ p }) => p);
}
