/**
 * Type-level test (compiled by `tsc -p tsconfig.test.json`, never run): the README's LuatOS example
 * must type-check under strict settings. The block between the README markers is the README's
 * "LuatOS style" code block, indented; readme-example.test.ts checks that they stay the same.
 */
import { Modem, websocket, type LuatWebSocket } from '../../src/index.js';

export async function readmeLuatosExample(): Promise<void> {
  // README:BEGIN
  const modem = await Modem.open({ path: '/dev/ttyACM2', baudRate: 115200 });
  // or Modem.open() with AIR780_PORT set or a module found by USB id, or
  // Modem.open({ stream: new MockModem().hostStream() }) for the mock

  const wsc = websocket.create(modem, 'wss://example.com/ws/echo', 60);  // adapter, url, keepalive (s)
  if (!wsc) throw new Error('bad URL or adapter');                       // null, like the firmware's nil
  wsc.autoreconn(true, 3000);
  wsc.on((client, event, data, payload) => {
    if (event === 'conack') client.send(JSON.stringify({ action: 'echo' }));
    if (event === 'recv') console.log('got', data, payload.opcode);
    if (event === 'sent') console.log('the server has it');      // the peer's TCP acknowledged it
    if (event === 'disconnect' || event === 'error') console.log(event, data);
  });
  wsc.connect();
  wsc.send('12', 0); wsc.send('34', 0); wsc.send('56', 1);       // one text message "123456"
  wsc.send(Buffer.from([1, 2, 3]), 1, 1);                         // binary
  wsc.headers({ Authorization: 'Bearer …' });                     // or 'Name: value\r\n' strings
  wsc.ready();                                                     // true between conack and disconnect
  wsc.disconnect();                                                // close, keep the client
  wsc.close();                                                     // close and release: no more events
  // README:END
}

/** The per-event narrowing is real: wrong uses of data/payload do not type-check. */
export function narrowing(wsc: LuatWebSocket): void {
  wsc.on((client, event, data, payload) => {
    if (event === 'recv') {
      const op: 0 | 1 | 2 = payload.opcode;
      const fin: 0 | 1 = payload.fin;
      const d: string | Buffer = data;
      void [op, fin, d, client.ready()];
      // @ts-expect-error a recv payload is not an Error
      void payload.message;
    }
    if (event === 'error') {
      const kind: 'connect' | 'tx' | 'rx' = data;
      const err: Error = payload;
      void [kind, err];
      // @ts-expect-error an error event has no opcode
      void payload.opcode;
    }
    if (event === 'conack') {
      // @ts-expect-error conack carries no payload
      void payload.opcode;
    }
    // @ts-expect-error before narrowing, payload may be undefined or an Error
    void payload.opcode;
  });
  // Fewer parameters, and callbacks declared with wide types, are accepted too.
  wsc.on((client, event) => void (event === 'conack' && client.send('hi')));
  const wide = (_c: LuatWebSocket, event: string, data?: string | Buffer): void => void [event, data];
  wsc.on(wide);
  wsc.on(null);
}
