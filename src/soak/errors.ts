import { Air780Error } from '../at/errors.js';

/** Soak and leak-bench errors: bad options (`ERR_SOAK_OPTION`), malformed soak frames (`ERR_SOAK_FRAME`). */
export class SoakError extends Air780Error {}
