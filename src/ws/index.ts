/** src/ws: RFC 6455 client over any Duplex, and the LuatOS-compatible `websocket` facade. */
export { WebSocketClient } from './client.js';
export type {
  WebSocketClientOptions,
  SendOptions,
  SendWaitFor,
  WsState,
  WsMessage,
  WebSocketClientEvents,
} from './client.js';
export type { PerMessageDeflateOptions } from './deflate.js';
export type { HeaderInput } from './headers.js';
export type { ReconnectOptions } from './reconnect.js';
export type { ConnectFn, ConnectTarget, WsTlsOptions, StreamOpener } from './transport.js';
export { hostConnect, openerConnect } from './transport.js';
export { CloseCode, Opcode } from './constants.js';
export {
  WsUrlError,
  WsHeaderError,
  WsOptionError,
  WsConnectError,
  WsHandshakeError,
  WsProtocolError,
  WsNotOpenError,
  WsPongTimeoutError,
  WsClosedError,
  WsNoAdapterError,
  WsInvalidTextError,
} from './errors.js';
export type { WsProtocolErrorCode } from './errors.js';
export { websocket, LuatWebSocket, hostAdapter } from './luatos.js';
export type {
  LuatWsCallback,
  LuatWsEvent,
  LuatWsEventArgs,
  LuatWsEventData,
  LuatWsLooseCallback,
  LuatErrorKind,
  LuatRecvPayload,
  LuatCreateOptions,
  LuatAdapter,
} from './luatos.js';
