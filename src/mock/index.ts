/** The mock Air780E module (see docs/layers.md, "src/mock"). */
export { MockModem } from './modem.js';
export type { MockModemOptions, MockQuirk, MockSimState, MockResolver } from './options.js';
export type { MockTranscriptEntry } from './transcript.js';
export type { BlockFault } from './block-fault.js';
export { MockError } from './errors.js';
export { MockBindingPort } from './binding.js';
