/**
 * air780-bridge: drive an Air780E-series module over its AT port, open TCP/TLS sockets through it,
 * and run websockets over them with the LuatOS API. Each layer's own index lists its full surface.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';

export * from './at/index.js';
export * from './modem/index.js';
export * from './ws/index.js';
export * from './mock/index.js';
export * from './adapters/index.js';
export * from './observe/index.js';
export { openSerialPort, listPorts } from './modem/serial/index.js';

/** This package's version, read from its package.json (as `air780 --version` does), so the two never disagree. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
