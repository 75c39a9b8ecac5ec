/**
 * Errors raised by the mock module. The mock may not import src/at (a bug shared with the driver
 * would hide itself), so it has its own base class with the same shape: a stable `code`.
 */
export class MockError extends Error {
  /** Stable machine-readable code, e.g. `ERR_MOCK_UNPLUGGED`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MockError';
    this.code = code;
  }
}
