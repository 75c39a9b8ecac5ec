/**
 * socketio-chat: a socket.io-client v4 chat message through the module. The websocket transport
 * takes `modem.httpAgent()` as its agent; acknowledgements and reconnects work as usual.
 *
 *   npx tsc -p examples && AIR780_PORT=/dev/ttyACM2 node dist/examples/socketio-chat.js http://chat.example.com:3000
 *   node dist/examples/socketio-chat.js --mock http://127.0.0.1:3000          # mock module, local server
 * The server is expected to acknowledge a 'chat' event (any answer is printed).
 */
import { io } from 'socket.io-client';
import { openExampleModem, target } from './modem.js';

const url = target('http://127.0.0.1:3000');
const { modem, close } = await openExampleModem();
const agent = modem.httpAgent();
// engine.io-client hands the agent to the ws package; its type says string | boolean.
const socket = io(url, { transports: ['websocket'], agent: agent as unknown as string });

await new Promise<void>((resolve, reject) => {
  socket.once('connect', resolve);
  socket.once('connect_error', reject);
});
const answer: unknown = await socket
  .timeout(30_000)
  .emitWithAck('chat', { from: 'air780', text: 'hello from the cellular side' });
console.log(`chat acknowledged: ${JSON.stringify(answer)}`);
socket.close();
agent.destroy();
await close();
