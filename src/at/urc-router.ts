/** Unsolicited lines and blocks to the handlers that asked for them. */
import { parseShape, type DialectShape } from './dialect.js';
import type { AtUrc, UrcMatch } from './types.js';

interface Route {
  /** What the handler gets beside the URC (a shape's fields), or undefined: not this route's line. */
  test: (line: string) => unknown;
  handler: (urc: AtUrc, hit: unknown) => void;
}

/** The AT channel's URC subscriptions, in subscription order. */
export class UrcRouter {
  private readonly routes: Route[] = [];

  /** `onThrow`: a handler threw (the others still run). */
  constructor(private readonly onThrow: (urc: AtUrc, err: Error) => void) {}

  /** Subscribe `handler` to lines matching `match` (prefix, RegExp or predicate); returns the unsubscriber. */
  add(match: UrcMatch, handler: (urc: AtUrc) => void): () => void {
    const test =
      typeof match === 'string'
        ? (line: string) => line.startsWith(match)
        : match instanceof RegExp
          ? (line: string) => {
              match.lastIndex = 0;
              return match.test(line);
            }
          : match;
    return this.route({ test: (line) => (test(line) ? true : undefined), handler: (urc) => handler(urc) });
  }

  /** Subscribe `handler` to lines of one dialect shape; it receives the parsed fields. */
  addShape<F>(shape: DialectShape<F>, handler: (fields: F, urc: AtUrc) => void): () => void {
    return this.route({
      test: (line) => parseShape(shape, line),
      handler: (urc, fields) => handler(fields as F, urc),
    });
  }

  private route(route: Route): () => void {
    this.routes.push(route);
    return () => {
      const i = this.routes.indexOf(route);
      if (i >= 0) this.routes.splice(i, 1);
    };
  }

  /** Hand `urc` to every handler that matches it; true when one did. */
  dispatch(urc: AtUrc): boolean {
    let claimed = false;
    for (const route of [...this.routes]) {
      let hit: unknown;
      try {
        hit = route.test(urc.line);
        if (hit !== undefined) route.handler(urc, hit);
      } catch (err) {
        this.onThrow(urc, err as Error);
      }
      claimed ||= hit !== undefined;
    }
    return claimed;
  }
}
