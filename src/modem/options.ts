/** The options of a modem and of its connects (public types of the modem layer). */
import type { ProgressEvent } from './bringup.js';
import type { ModuleTlsVersion } from './module-tls.js';
import type { TransportOptions } from './transport.js';

/** Options of {@link Modem.open}. */
export interface ModemOpenOptions extends TransportOptions {
  /** APN for `AT+CSTT` (default: the one the network assigned). */
  apn?: string;
  /** User name for a private APN (with `apn`). */
  user?: string;
  /** Password for a private APN; redacted in every trace. */
  password?: string;
  /** Receive mode: 'push' (`+RECEIVE` URCs) or 'pull' (`AT+CIPRXGET`, end-to-end backpressure). Default 'push'. */
  rxMode?: 'push' | 'pull';
  /** Timeout of data commands (CIPSEND, CIPRXGET, CIPCLOSE, CIPACK); a timeout means the module stopped answering. Default 9000. */
  commandTimeoutMs?: number;
  /** Default wait for `CONNECT OK`. Default 75 000 (the manual's value). */
  connectTimeoutMs?: number;
  /** `AT` attempts during sync. Default 20. */
  syncAttempts?: number;
  /** Wait for each sync `AT`. Default 1000. */
  syncIntervalMs?: number;
  /** How long the SIM may take to become ready after boot. Default 10 000. */
  simTimeoutMs?: number;
  /** How long network registration may take. Default 120 000. */
  registrationTimeoutMs?: number;
  /** How long the packet-domain attach (`AT+CGATT?`) may take. Default 60 000. */
  attachTimeoutMs?: number;
  /** Interval between status polls during bring-up. Default 500. */
  pollIntervalMs?: number;
  /** Back-off between recovery attempts: starts here, doubles, capped at `recoveryMaxBackoffMs`. Default 500. */
  recoveryBackoffMs?: number;
  /** Longest back-off between recovery attempts. Default 30 000. */
  recoveryMaxBackoffMs?: number;
  /** How long the AT channel waits for its resync after a timed-out command. Default 5000. */
  resyncTimeoutMs?: number;
  /** Failed sync rounds before a hard reset (`AT+CFUN=1,1`, then `AT+RESET`). Default 2. */
  resetAfterSyncFailures?: number;
  /** Push mode: unread bytes per socket before it fails with ERR_RX_OVERFLOW. Default 8 MiB. */
  pushBufferLimit?: number;
  /** Progress callback (also emitted as 'progress'). */
  onProgress?: (p: ProgressEvent) => void;
  /**
   * Silence in the middle of a received block after which it counts as cut (the module lost
   * power, or the line died). Default: 400 byte-times at `baudRate`, at least 300 ms.
   */
  blockSilenceMs?: number;
}

/** Options of {@link Modem.connect} / {@link Modem.openStream}. */
export interface ModemConnectOptions {
  /** false: plain TCP; 'host' (or true): Node's TLS over a plain link; 'modem': the module's TLS (AT+CIPSSL). */
  tls?: boolean | 'host' | 'modem';
  /**
   * The name the server's certificate must carry, sent as SNI (default: the host). An IP literal
   * (given here or as the host) is checked against the certificate's IP entries and sends no SNI.
   */
  servername?: string;
  /** CA(s) to verify the server against. Host TLS: default the system store. Module TLS: required unless rejectUnauthorized is false. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verification is on unless this is explicitly false (traced as a warning). */
  rejectUnauthorized?: boolean;
  /** Module TLS only: the protocol version the module speaks (default `'TLSv1.2'`); see {@link ModuleTlsVersion}. */
  sslVersion?: ModuleTlsVersion;
  /** Wait for CONNECT OK (and, for host TLS, the handshake). */
  timeoutMs?: number;
  /**
   * Gives up the connect when aborted before it completed: the socket being connected is destroyed
   * with the signal's reason (an Error, else `ERR_ABORTED`), which `AT+CIPCLOSE`s its link and
   * frees the id, instead of waiting out `timeoutMs`. No effect on a stream already returned.
   */
  signal?: AbortSignal;
}

/** What the `'socket'` event says about a new link (for status pages; no credentials in it). */
export interface SocketOpened {
  host: string;
  port: number;
  /** 'none': plain TCP; 'host': Node's TLS over the link; 'modem': the module's TLS. */
  tls: 'none' | 'host' | 'modem';
}
