/** A connect's AbortSignal: what an aborted connect fails with, and the socket it gives up. */
import { ModemAbortError } from './errors.js';
import type { ModemSocket } from './socket.js';

/** The error an aborted connect fails with: the signal's reason when it is one. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new ModemAbortError('The connect');
}

/**
 * Destroys `socket` when `signal` aborts, until the returned function is called. `withError`: with
 * the abort reason (the socket's 'error'), else silently (someone else reports the failure).
 */
export function abandonOnAbort(socket: ModemSocket, signal: AbortSignal, withError: boolean): () => void {
  let live = true;
  const onAbort = () => {
    if (live && !socket.destroyed) socket.destroy(withError ? abortReason(signal) : undefined);
  };
  const dispose = () => {
    live = false;
    signal.removeEventListener('abort', onAbort);
  };
  // Already aborted: after connect() returned, so the caller can attach its 'error' listener first.
  if (signal.aborted) queueMicrotask(onAbort);
  else signal.addEventListener('abort', onAbort, { once: true });
  return dispose;
}
