/** The AT channel layer: bytes in, commands / URCs / payloads out. Imports no other layer. */
export * from './errors.js';
export { AtChannel } from './channel.js';
export type {
  AtChannelOptions,
  AtSendOptions,
  AtResponse,
  AtUrc,
  AtCut,
  UrcMatch,
  AtCommandResult,
} from './channel.js';
export { AtScanner, blockSilenceBound } from './scanner.js';
export type { AtToken, AtBlockKind, AtCutReason, AtScannerOptions } from './scanner.js';
export { standardFinal, defaultFinalMatcher, isErrorFinal, parseCme } from './finals.js';
export {
  URC,
  BLOCK,
  BLOCK_SHAPES,
  parseShape,
  isKnownUrc,
  commandName,
  defaultTimeoutFor,
  DEFAULT_TIMEOUT_MS,
} from './dialect.js';
export type { DialectShape, BlockShape, BlockFields, BlockStart, LinkEventName, DnsAnswer } from './dialect.js';
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
