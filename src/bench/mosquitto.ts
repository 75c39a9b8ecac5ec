import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Debian installs the broker in /usr/sbin, which a non-root PATH may not hold. */
const MOSQUITTO = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';

/**
 * A mosquitto broker for the tests and the bench (Debian's `mosquitto`): a plain and a TLS listener
 * on free 127.0.0.1 ports, a generated config, stopped by the caller.
 */
export interface Broker {
  port: number;
  tlsPort: number;
  /** What the broker printed (its log goes to stderr). */
  readonly log: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Waits until something accepts TCP connections on `port`. */
async function listening(port: number, timeoutMs: number, log: () => string): Promise<void> {
  const start = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - start > timeoutMs)
      throw new Error(`mosquitto not listening on ${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `mosquitto` with a generated config (anonymous, no persistence); rejects if it is not installed or exits. */
export async function startMosquitto(tls: { cert: string; key: string; ca: string }): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'air780-mosquitto-'));
  const [port, tlsPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'ca.crt'), tls.ca);
  writeFileSync(join(dir, 'server.crt'), tls.cert);
  writeFileSync(join(dir, 'server.key'), tls.key);
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      // Run as root, mosquitto drops to user 'mosquitto', which cannot read this private temp dir.
      `user ${userInfo().username}`,
      'per_listener_settings false',
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'max_inflight_messages 0',
      'max_queued_messages 10000',
      `listener ${port} 127.0.0.1`,
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${join(dir, 'ca.crt')}`,
      `certfile ${join(dir, 'server.crt')}`,
      `keyfile ${join(dir, 'server.key')}`,
      '',
    ].join('\n'),
  );
  const child = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.on('error', (err) => (log += `${err.message}; install the mosquitto package\n`));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  await Promise.race([
    Promise.all([listening(port, 10_000, () => log), listening(tlsPort, 10_000, () => log)]),
    exited.then(() => {
      throw new Error(`mosquitto exited:\n${log}`);
    }),
  ]);
  return {
    port,
    tlsPort,
    get log() {
      return log;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
