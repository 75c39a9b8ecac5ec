/** air780-bridge: public entry point. Each layer re-exports its public API here. */
export const VERSION = '0.1.0';
