/** The AT channel layer: bytes in, commands / URCs / payloads out. Imports no other layer. */
export * from './errors.js';
export { AtChannel } from './channel.js';
export type { AtChannelOptions, AtSendOptions, AtResponse, AtUrc, AtCut, UrcMatch, AtCommandResult } from './channel.js';
export { AtScanner, blockSilenceBound } from './scanner.js';
export type { AtToken, AtBlockKind, AtCutReason, AtScannerOptions } from './scanner.js';
export {
  standardFinal,
  defaultFinalMatcher,
  defaultTimeoutFor,
  DEFAULT_TIMEOUT_MS,
  isErrorFinal,
  isKnownUrc,
  parseCme,
  commandName,
} from './finals.js';
export type { FinalMatcher, MatchResult } from './finals.js';
export {
  atString,
  atHost,
  atInt,
  atApn,
  atUser,
  atPassword,
  atFileName,
  assertCommand,
  isValidHost,
  AT_LIMITS,
} from './args.js';
export type { AtStringOptions } from './args.js';
export { escapeBytes, summarize, redactLine } from './trace.js';
