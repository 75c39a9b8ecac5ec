/**
 * The stop-and-wait ceiling: the highest payload rate the AT protocol allows at a given line rate
 * and module latency, if the host itself cost nothing.
 *
 * The module takes one command at a time, so each 1460-byte chunk costs a whole exchange:
 *
 * - up (`AT+CIPSEND=<n>,<len>` with CIPQSEND=1): the command goes up, the module answers after its
 *   latency with the prompt, the chunk goes up, `DATA ACCEPT:<n>,<len>` comes down. Nothing else
 *   can use the line meanwhile: the next command may only be written after that final result.
 * - down, pull (`AT+CIPRXGET=2,<n>,<len>`): the command goes up, after the latency the header, the
 *   chunk and `OK` come down.
 * - down, push (`+RECEIVE,<n>,<len>:`): the module writes header and chunk back to back with no
 *   exchange, so only the header's bytes are lost to the protocol.
 *
 * Per chunk: time = 10 × (bytes up + bytes down) / baud + latency (8N1: 10 bits a byte; one latency
 * per command, which is how the mock models it), and the ceiling is the chunk's payload over that
 * time. Unthrottled (`baud` 0) only the latency is left: push download has no ceiling.
 * Websocket framing is counted as overhead on top: `frameOverhead` bytes per `messageBytes`.
 */

/** What one measurement's ceiling depends on. */
export interface CeilingInput {
  /** Line rate in baud; 0 = unthrottled. */
  baud: number;
  /** Module latency per command, ms. */
  latencyMs: number;
  direction: 'up' | 'down';
  rxMode: 'push' | 'pull';
  /** Bytes per chunk (the module's limit is 1460). */
  chunkBytes?: number;
  /** Websocket message size and its frame header bytes (0 for a raw socket). */
  messageBytes?: number;
  frameOverhead?: number;
}

/** The AT bytes of one chunk's exchange, up and down (link 0; `left` of a pull read as 4 digits). */
export function exchangeBytes(
  direction: 'up' | 'down',
  rxMode: 'push' | 'pull',
  chunk: number,
): { up: number; down: number; commands: number } {
  const len = (s: string) => Buffer.byteLength(s, 'latin1');
  if (direction === 'up') {
    return {
      up: len(`AT+CIPSEND=0,${chunk}\r`) + chunk,
      down: len('\r\n> ') + len(`\r\nDATA ACCEPT:0,${chunk}\r\n`),
      commands: 1,
    };
  }
  if (rxMode === 'pull') {
    return {
      up: len(`AT+CIPRXGET=2,0,${chunk}\r`),
      down: len(`\r\n+CIPRXGET: 2,0,${chunk},1460\r\n`) + chunk + len('\r\nOK\r\n'),
      commands: 1,
    };
  }
  return { up: 0, down: len(`\r\n+RECEIVE,0,${chunk}:\r\n`) + chunk, commands: 0 };
}

/** The ceiling in payload bytes per second, or null where the protocol sets none. */
export function ceilingBytesPerSec(input: CeilingInput): number | null {
  const chunk = input.chunkBytes ?? 1460;
  const { up, down, commands } = exchangeBytes(input.direction, input.rxMode, chunk);
  const wire = input.baud > 0 ? ((up + down) * 10) / input.baud : 0;
  const seconds = wire + (commands * input.latencyMs) / 1000;
  if (seconds <= 0) return null;
  const framing = input.messageBytes ? input.messageBytes / (input.messageBytes + (input.frameOverhead ?? 0)) : 1;
  return (chunk / seconds) * framing;
}

/** Measured rate over the ceiling, or null where there is no ceiling. */
export function ceilingFractionOf(bytesPerSec: number | null, input: CeilingInput): number | null {
  const ceiling = ceilingBytesPerSec(input);
  return ceiling === null || bytesPerSec === null ? null : bytesPerSec / ceiling;
}

/**
 * Frame header bytes of one websocket message of `messageBytes`: 2, plus 2 or 8 for the extended
 * length, plus the 4-byte mask on frames the client sends (up).
 */
export function wsFrameOverhead(messageBytes: number, direction: 'up' | 'down'): number {
  const ext = messageBytes < 126 ? 0 : messageBytes < 65536 ? 2 : 8;
  return 2 + ext + (direction === 'up' ? 4 : 0);
}
