/**
 * Type-level test (compiled by `tsc -p tsconfig.test.json`): the README's LuatOS example must
 * type-check under strict settings. The block between the README markers is the README's "LuatOS
 * style" code block (importing from the source instead of the package name); readme-example.test.ts
 * checks that they stay the same and runs the README's block itself. Never imported: its top level
 * is the example's.
 */
// README:BEGIN
import { Modem, MockModem, websocket } from '../../src/index.js';

// On the mock module, so that it runs as it is. On hardware:
//   const modem = await Modem.open({ path: '/dev/ttyACM2', baudRate: 115200 });
// or Modem.open() with AIR780_PORT set or a module found by USB id.
const mock = new MockModem();
const modem = await Modem.open({ stream: mock.hostStream() });

const url = process.env.WS_URL ?? 'wss://echo.websocket.org';          // any echo server
const wsc = websocket.create(modem, url, 60);                          // adapter, url, keepalive (s)
if (!wsc) throw websocket.lastError();                                 // null, like the firmware's nil
wsc.headers({ Authorization: 'Bearer my-token' });                     // or 'Name: value\r\n' strings
wsc.autoreconn(true, 3000);
wsc.on((client, event, data, payload) => {
  if (event === 'conack') {                                            // ready() is true from here on
    client.send('12', 0); client.send('34', 0); client.send('56', 1);  // one text message "123456"
    client.send(Buffer.from([1, 2, 3]), 1, 1);                         // binary
  }
  if (event === 'recv') console.log('got', data, payload.opcode);
  if (event === 'sent') console.log('the server has it');              // the peer's TCP acknowledged it
  if (event === 'disconnect' || event === 'error') console.log(event, data);
  if (event === 'recv' && payload.opcode === 2) {                      // the binary echo: done
    client.close();                                                    // close and release: no more events
    void modem.close().then(() => mock.close());                       // ends the module's links, then the port
  }
});
if (!wsc.connect()) throw wsc.lastError();
// README:END
import type { LuatWebSocket } from '../../src/index.js';

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
