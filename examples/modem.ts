/**
 * What every example shares: a module to talk through, and the options a test passes.
 *
 * `--mock` runs against the built-in mock module (no hardware); otherwise the real module is
 * opened from `AIR780_PORT` (e.g. /dev/ttyACM2) or found by its USB id. `EXAMPLE_CA` names a
 * PEM file of CA certificates to verify servers against (default: the system store).
 */
import { readFileSync } from 'node:fs';
import { MockModem, Modem } from 'air780-bridge';

export interface ExampleModem {
  modem: Modem;
  close(): Promise<void>;
}

export async function openExampleModem(): Promise<ExampleModem> {
  if (process.argv.includes('--mock')) {
    const mock = new MockModem();
    const modem = await Modem.open({ stream: mock.hostStream(), reopen: () => mock.hostStream() });
    return {
      modem,
      close: async () => {
        await modem.close();
        await mock.close();
      },
    };
  }
  const modem = await Modem.open();
  return { modem, close: () => modem.close() };
}

/** The first command-line argument that is not a switch, else `fallback`. */
export function target(fallback: string): string {
  return process.argv.slice(2).find((a) => !a.startsWith('--')) ?? fallback;
}

/** CA certificates from `EXAMPLE_CA`, if set. */
export function exampleCa(): string | undefined {
  return process.env.EXAMPLE_CA ? readFileSync(process.env.EXAMPLE_CA, 'utf8') : undefined;
}
