/** Unsolicited lines and blocks to the handlers that asked for them. */
import type { AtUrc, UrcMatch } from './types.js';

interface Route {
  test: (line: string) => boolean;
  handler: (urc: AtUrc) => void;
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
    const route = { test, handler };
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
      let hit = false;
      try {
        hit = route.test(urc.line);
        if (hit) route.handler(urc);
      } catch (err) {
        this.onThrow(urc, err as Error);
      }
      claimed ||= hit;
    }
    return claimed;
  }
}
