import { intArg, type AtArg } from './command.js';

/** Settings `AT+CIPSHUT` keeps but a reboot resets (the `AT+CIP*` switches). */
export interface IpSettings {
  mux: number;
  qsend: number;
  rxf: number;
  head: number;
  sprt: number;
  showtp: number;
  srip: number;
  rxget: number;
  ssl: number;
}

/** The switches after power-on. */
export const IP_DEFAULTS: Readonly<IpSettings> = {
  mux: 0,
  qsend: 0,
  rxf: 0,
  head: 0,
  sprt: 1,
  showtp: 0,
  srip: 0,
  rxget: 0,
  ssl: 0,
};

/** Links of the module in multi-link mode (ids 0–5). */
export const LINKS = 6;

/** Largest payload of one `AT+CIPSEND` and one binary read (and one `+RECEIVE` chunk). */
export const MAX_SEND = 1460;

/** A link id argument in multi-link mode (0–5); undefined when invalid. */
export function linkArg(a: AtArg | undefined): number | undefined {
  return intArg(a, 0, LINKS - 1);
}
