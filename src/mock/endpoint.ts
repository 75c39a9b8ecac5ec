/** One way the host reaches the mock's serial port (in-process stream, binding port, pty). */
export interface PortEndpoint {
  /** Bytes the line delivers to the host. False asks the line to wait for `resumeOutput`. */
  deliver(chunk: Buffer): boolean;
  /** The port went away: `unplug` (device vanished), `replaced` (another endpoint took it), `closed` (mock closed). */
  hangUp(reason: 'unplug' | 'replaced' | 'closed'): void;
}

/** What an endpoint may ask of the mock. */
export interface PortOwner {
  /** Host → module bytes; `cb` runs once the line has delivered them to the module (or with an error if cut). */
  fromHost(ep: PortEndpoint, buf: Buffer, cb: (err?: Error) => void): void;
  /** The endpoint can take more output again. */
  resumeOutput(ep: PortEndpoint): void;
  /** The endpoint closed itself. */
  detach(ep: PortEndpoint): void;
  /** Is the device present (not unplugged)? */
  readonly plugged: boolean;
}
