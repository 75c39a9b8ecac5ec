/**
 * air780-bridge: drive an Air780E-series module over its AT port, open TCP/TLS sockets through it,
 * and run websockets over them with the LuatOS API. Each layer's own index lists its full surface.
 *
 * @packageDocumentation
 */
export * from './at/index.js';
export * from './modem/index.js';
export * from './ws/index.js';
export * from './mock/index.js';
export { openSerialPort, listPorts } from './modem/serial/index.js';
/** This package's version. */
export const VERSION = '0.1.0';
