/**
 * Bytes both ways between a client socket and a module link, with backpressure (each side is
 * paused while the other's buffer is full, so memory stays bounded whatever the speeds), half-close
 * as far as the module allows, an idle timeout, and a record of how it ended.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';

/** How a tunnel ended. */
export type TunnelEnd = 'closed' | 'client-reset' | 'upstream-reset' | 'idle' | 'shutdown';

export interface TunnelResult {
  /** Bytes from the client to the destination. */
  up: number;
  /** Bytes from the destination to the client. */
  down: number;
  ended: TunnelEnd;
  /** The upstream error's code, for an upstream reset. */
  error?: string;
}

export interface Tunnel {
  /** Ends the tunnel now (shutdown): both sockets destroyed. */
  destroy(): void;
  readonly done: Promise<TunnelResult>;
}

function codeOf(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.name;
}

/**
 * Joins `client` and `upstream` (already connected). The client's FIN ends the link once its bytes
 * are sent (the module has no half-close: that is `AT+CIPCLOSE` after the data is accepted); the
 * destination's close reaches the client after all of its data. An upstream failure (a module
 * reboot) resets the client connection, so it sees a reset, not a hang.
 */
export function runTunnel(client: net.Socket, upstream: Duplex, options: { idleTimeoutMs: number }): Tunnel {
  let up = 0;
  let down = 0;
  let ended: TunnelEnd | undefined;
  let error: string | undefined;
  let resolveDone!: (r: TunnelResult) => void;
  const done = new Promise<TunnelResult>((r) => {
    resolveDone = r;
  });
  let last = Date.now();
  const touch = (): void => {
    last = Date.now();
  };

  client.on('data', (d: Buffer) => {
    up += d.length;
    touch();
  });
  upstream.on('data', (d: Buffer) => {
    down += d.length;
    touch();
  });
  client.pipe(upstream);
  upstream.pipe(client);

  const finish = (why: TunnelEnd): void => {
    ended ??= why;
  };
  upstream.on('error', (err: Error) => {
    finish('upstream-reset');
    error ??= codeOf(err);
    if (!client.destroyed) client.resetAndDestroy();
  });
  client.on('error', () => {
    finish('client-reset');
    upstream.destroy();
  });
  // A client gone without an error (destroyed) takes the link with it.
  client.on('close', () => {
    if (!upstream.destroyed && !upstream.writableEnded) {
      finish('client-reset');
      upstream.destroy();
    }
  });

  // The link is gone: what the destination sent is flushed to the client, then its side closes too.
  upstream.once('close', () => {
    if (!client.destroyed) client.destroySoon();
  });

  const idleMs = options.idleTimeoutMs;
  const idle =
    idleMs > 0
      ? setInterval(
          () => {
            if (Date.now() - last < idleMs) return;
            finish('idle');
            upstream.destroy();
            client.destroy();
          },
          Math.max(50, Math.min(idleMs / 4, 1000)),
        )
      : undefined;

  let closedCount = 0;
  const onClosed = (): void => {
    if (++closedCount < 2) return;
    if (idle) clearInterval(idle);
    resolveDone({ up, down, ended: ended ?? 'closed', ...(error ? { error } : {}) });
  };
  if (client.destroyed) closedCount++;
  else client.once('close', onClosed);
  if (upstream.destroyed) closedCount++;
  else upstream.once('close', onClosed);
  if (closedCount === 2) onClosed();

  return {
    done,
    destroy() {
      finish('shutdown');
      upstream.destroy();
      client.destroy();
    },
  };
}
