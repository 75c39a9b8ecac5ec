import { it } from 'vitest';
import { openerConnect, WebSocketClient } from '../../src/ws/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { openModem, startWsEcho } from './helpers.js';
it('msg', async () => {
  const pki = makeTestPki();
  const peer = await startWsEcho({}, { cert: pki.serverCert, key: pki.serverKey });
  const t0 = Date.now();
  const { modem, mock } = await openModem({});
  const client = new WebSocketClient(`wss://localhost:${peer.port}/`, { connect: openerConnect(modem, { ca: pki.caCert, mode: 'host' }), keepaliveMs: 0 });
  await client.opened();
  const s: any = (client as any).conn.stream;
  for (const ev of ['end', 'finish', 'close', 'error']) s.on(ev, (e: any) => console.log('tls', ev, Date.now() - t0, e?.message ?? ''));
  mock.clearTranscript();
  const c = client.closed(); client.close(); console.log(await c);
  console.log('closed', Date.now() - t0);
  console.log(mock.transcript.map((e) => e.kind + ' ' + JSON.stringify(e.text.slice(0, 60))).join('\n'));
  await peer.close();
});
