import { afterEach } from 'vitest';
import { MockModem, type MockModemOptions } from '../../src/mock/index.js';
import { RawClient, startGreetingServer } from './raw-client.js';

/**
 * Per-file setup shared by the raw-client mock tests: one cleanup stack emptied after each test,
 * a mock with the file's default options under a RawClient, and greeting servers closed with it.
 * Call once at the top level of a test file (it registers an afterEach there).
 */
export function mockHarness(defaults: MockModemOptions = {}) {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return {
    cleanups,
    setup(opts: MockModemOptions = {}): { mock: MockModem; c: RawClient } {
      const mock = new MockModem({ ...defaults, ...opts });
      cleanups.push(() => mock.close());
      return { mock, c: new RawClient(mock.hostStream()) };
    },
    async greetingServer(greeting: string | Buffer = ''): ReturnType<typeof startGreetingServer> {
      const s = await startGreetingServer(greeting);
      cleanups.push(() => s.close());
      return s;
    },
  };
}
