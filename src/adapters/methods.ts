/**
 * The adapters as `Modem` methods (`modem.createConnection(…)`, `modem.httpAgent()`…), attached
 * here, in the adapters layer, when the package root loads: the modem layer stays free of http,
 * undici and the rest (imports point down: adapters → modem). Each method is a one-line call
 * of the function of the same name, which can also be imported and used directly.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Agent as UndiciAgent } from 'undici';
import { Modem } from '../modem/index.js';
import { connectionArgs, createConnection, type ModemConnection, type ModemConnectionOptions } from './connection.js';
import { httpAgent, httpsAgent, type ModemAgentOptions, type ModemHttpsAgentOptions } from './agents.js';
import { dispatcher, type ModemDispatcherOptions } from './dispatcher.js';
import { moduleLookup } from './lookup.js';
import { mqttStream } from './mqtt.js';

declare module '../modem/modem.js' {
  interface Modem {
    /** `net.createConnection` through the module; see {@link createConnection}. */
    createConnection(options: ModemConnectionOptions, connectListener?: () => void): ModemConnection;
    createConnection(port: number | string, host?: string, connectListener?: () => void): ModemConnection;
    /** An `http.Agent` over module links; see {@link httpAgent}. */
    httpAgent(options?: ModemAgentOptions): http.Agent;
    /** An `https.Agent` over module links, TLS verified on the host; see {@link httpsAgent}. */
    httpsAgent(options?: ModemHttpsAgentOptions): https.Agent;
    /** An undici `Agent` over module links (needs the optional `undici` package); see {@link dispatcher}. */
    dispatcher(options?: ModemDispatcherOptions): UndiciAgent;
    /** A `dns.lookup`-compatible resolver asking the module (`AT+CDNSGIP`); bound, pass it as is. */
    readonly lookup: LookupFunction;
    /** A stream builder for mqtt.js; see {@link mqttStream}. */
    mqttStream(options: ModemConnectionOptions): () => ModemConnection;
  }
}

/** One bound `lookup` per modem, so `{ lookup: modem.lookup }` is stable and cheap. */
const lookups = new WeakMap<Modem, LookupFunction>();

const methods = {
  createConnection(this: Modem, ...args: [ModemConnectionOptions | number | string, ...unknown[]]): ModemConnection {
    const { options, listener } = connectionArgs(args);
    return createConnection(this, options, listener);
  },
  httpAgent(this: Modem, options?: ModemAgentOptions): http.Agent {
    return httpAgent(this, options);
  },
  httpsAgent(this: Modem, options?: ModemHttpsAgentOptions): https.Agent {
    return httpsAgent(this, options);
  },
  dispatcher(this: Modem, options?: ModemDispatcherOptions): UndiciAgent {
    return dispatcher(this, options);
  },
  mqttStream(this: Modem, options: ModemConnectionOptions): () => ModemConnection {
    return mqttStream(this, options);
  },
};

for (const [name, fn] of Object.entries(methods)) {
  if (!Object.hasOwn(Modem.prototype, name))
    Object.defineProperty(Modem.prototype, name, { value: fn, writable: true, configurable: true });
}
if (!Object.hasOwn(Modem.prototype, 'lookup')) {
  Object.defineProperty(Modem.prototype, 'lookup', {
    configurable: true,
    get(this: Modem): LookupFunction {
      let fn = lookups.get(this);
      if (!fn) {
        fn = moduleLookup(this);
        lookups.set(this, fn);
      }
      return fn;
    },
  });
}
