/**
 * https-post: POST a JSON document over HTTPS with Node's own `https`, through the module.
 * `modem.httpsAgent()` pools module links (keep-alive); TLS runs on the host and verifies the
 * server's certificate (system store, or `EXAMPLE_CA`).
 *
 *   npx tsc -p examples && AIR780_PORT=/dev/ttyACM2 node dist/examples/https-post.js https://httpbin.org/post
 *   node dist/examples/https-post.js --mock https://localhost:8443/upload    # mock module, local server
 */
import https from 'node:https';
import { exampleCa, openExampleModem, target } from './modem.js';

const url = target('https://httpbin.org/post');
const { modem, close } = await openExampleModem();
const ca = exampleCa();
const agent = modem.httpsAgent(ca ? { ca } : {});
const body = JSON.stringify({ device: 'air780', temperature: 21.5, at: new Date().toISOString() });

const reply = await new Promise<string>((resolve, reject) => {
  const req = https.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (text += d));
    res.on('end', () => resolve(`${res.statusCode} ${text}`));
  });
  req.on('error', reject);
  req.end(body);
});
console.log(`POST ${url} → ${reply.slice(0, 200)}`);
agent.destroy();
await close();
