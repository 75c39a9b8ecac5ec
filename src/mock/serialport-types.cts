/**
 * The serialport binding types the mock implements. `@serialport/bindings-interface` ships its
 * types for `require` only; a CommonJS-mode file resolves them without an import attribute.
 * Types only: nothing of the package is loaded at run time.
 */
export type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
  SetOptions,
  UpdateOptions,
} from '@serialport/bindings-interface';
