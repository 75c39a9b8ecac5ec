/**
 * Multi-step AT flows as data, after Zephyr's modem_chat scripts: a script is a list of steps
 * (command, expected answer, answers that abort, refusals, per-step timeout, progress text, how a
 * wait repeats), and one runner executes every script, bounded as a whole and by an AbortSignal.
 * A reader can hold a script next to the AT manual line by line; the policy (what a refusal means,
 * how long a wait may take) sits in the step, not in control flow.
 *
 * It lives in the AT layer because it knows only commands and answer lines; what the lines mean
 * (SIM states, registration, bearer) is the modem layer's, in the scripts it declares.
 */
import type { AtChannel, AtResponse, AtSendOptions } from './channel.js';
import { Air780Error, AtAbandonedError, AtCommandError, AtTimeoutError, BadArgumentError } from './errors.js';
import { redactLine } from './trace.js';
import { abortError, pollUntil } from './wait.js';

/** What an answer means for the script: go on, or (in a polled step) ask again. */
export type Verdict = 'next' | 'again';

/** A line matcher: a pattern, or a parser whose truthy result is the match. */
export type LineMatch = RegExp | ((line: string) => unknown);

/** What a step does with an outcome: a verdict, or the error (made from the answer's lines) the script fails with. */
export type Outcome = Verdict | ((lines: readonly string[]) => Error);

/** One command of a script and what its answers mean. */
export interface ScriptStep<P> {
  /**
   * The command line (without CR). Several: tried in turn within one attempt until one's answer
   * meets `expect`; otherwise the first whose answer matched `abort` or `pending` decides.
   */
  cmd: string | readonly string[];
  /** Run the step only when the answer to this query has a line matching `answer` (a refused query skips it). */
  onlyIf?: { cmd: string; answer: LineMatch };
  /** Timeout of each command (default: the channel's for that command). */
  timeoutMs?: number;
  /** Reported as the step starts; a polled step reports every attempt, with its number. */
  progress?: P;
  /** The answer (information lines, then the final line) must have a line matching this. */
  expect?: LineMatch;
  /** Called with the `expect` match (e.g. to keep the IP address the module reported). */
  capture?: (match: unknown, line: string) => void;
  /** Answer lines that fail the script, checked after `expect`. */
  abort?: ReadonlyArray<readonly [LineMatch, (lines: readonly string[]) => Error]>;
  /** Answer lines that mean "not yet" (in a polled step: ask again). */
  pending?: LineMatch;
  /** No line matched `expect`, `abort` or `pending` (default: 'again' when polled, else a failure). */
  otherwise?: Outcome;
  /** A refusal (`ERROR`, `+CME ERROR: <n>`) by CME number, or `other` (default: fail with the refusal). */
  refused?: { readonly [cme: number]: Outcome; readonly other?: Outcome };
  /** No final result in time (default: fail with the timeout). */
  timedOut?: Verdict;
  /** The module restarted while the command was in flight (`RDY`; default: fail, so a caller can start over). */
  abandoned?: Verdict;
  /**
   * Repeat the step on 'again', one attempt per `everyMs` at most, until `withinMs` has passed or
   * `attempts` were made; then fail with `gaveUp(last)` (the last attempt's lines and error).
   */
  poll?: { everyMs: number; withinMs?: number; attempts?: number; gaveUp: (last: LastAnswer) => Error };
}

/** The last attempt of a polled step, for its failure message. */
export interface LastAnswer {
  /** Information lines and the final line (or the refusal's), in order. */
  lines: readonly string[];
  error?: Error;
}

/** A named list of steps with a bound on the whole. */
export interface AtScript<P> {
  /** Used in errors and traces, e.g. 'bring-up'. */
  name: string;
  steps: ReadonlyArray<ScriptStep<P>>;
  /** The whole script's bound; a backstop above the steps' own bounds. */
  timeoutMs: number;
  /** The error the whole-script timeout fails with (default {@link AtScriptTimeoutError}). */
  timedOut?: () => Error;
}

/** How a script is run. */
export interface RunScriptOptions<P> {
  /** Aborting stops the script at once: the command in flight and any wait. */
  signal?: AbortSignal;
  /** Each step's progress, with the attempt number in a polled step. */
  onProgress?: (p: P & { attempt?: number }) => void;
}

/** A script ran past its whole-script timeout (`ERR_SCRIPT_TIMEOUT`). */
export class AtScriptTimeoutError extends Air780Error {
  constructor(name: string, timeoutMs: number) {
    super(
      'ERR_SCRIPT_TIMEOUT',
      `${name} did not finish within ${timeoutMs} ms. Check the module's state (AT console) or raise the step timeouts.`,
    );
  }
}

/** An answer a step did not expect (`ERR_AT_UNEXPECTED`). */
export class AtUnexpectedAnswerError extends Air780Error {
  readonly command: string;
  readonly lines: readonly string[];

  constructor(command: string, lines: readonly string[]) {
    command = redactLine(command);
    super(
      'ERR_AT_UNEXPECTED',
      `${command} answered ${JSON.stringify(lines.map(redactLine))}, not what this step expects. Check the firmware version against the AT manual.`,
    );
    this.command = command;
    this.lines = lines.map(redactLine);
  }
}

/** One command's result: the outcome, whether an answer line decided it, and what came back. */
interface Answer {
  outcome: Outcome;
  decided: boolean;
  lines: string[];
  error?: Error;
}

/**
 * Runs `script` on `at`, step by step. Rejects with the first failure: a step's own error, the
 * channel's, the whole-script timeout's, or the signal's reason when it was aborted.
 */
export async function runScript<P extends object>(
  at: AtChannel,
  script: AtScript<P>,
  options: RunScriptOptions<P> = {},
): Promise<void> {
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(script.timedOut?.() ?? new AtScriptTimeoutError(script.name, script.timeoutMs)),
    script.timeoutMs,
  );
  const signal = anySignal(deadline.signal, options.signal);
  try {
    for (const step of script.steps) await runStep(at, step, signal, options.onProgress);
  } catch (err) {
    if (signal.aborted) throw abortError(signal, script.name);
    throw err;
  } finally {
    clearTimeout(timer);
    signal.dispose();
  }
}

async function runStep<P extends object>(
  at: AtChannel,
  step: ScriptStep<P>,
  signal: AbortSignal,
  onProgress: RunScriptOptions<P>['onProgress'],
): Promise<void> {
  const poll = step.poll;
  if (!poll) {
    if (step.onlyIf && !(await guard(at, step.onlyIf, signal))) return;
    if (step.progress) onProgress?.(step.progress);
    const a = await attempt(at, step, signal, false);
    const v = resolve(a);
    // A script mistake, not a module fault: 'again' needs a poll to say how often and how long.
    if (v === 'again')
      throw new BadArgumentError('script', `step ${redactLine(String(step.cmd))} answered 'again' but has no poll`);
    return;
  }
  let last: LastAnswer = { lines: [] };
  const r = await pollUntil(
    async (n) => {
      if (step.progress) onProgress?.({ ...step.progress, attempt: n });
      const a = await attempt(at, step, signal, true);
      last = { lines: a.lines, ...(a.error ? { error: a.error } : {}) };
      return resolve(a) === 'next' ? { done: true, value: undefined } : { done: false };
    },
    {
      everyMs: poll.everyMs,
      ...(poll.withinMs !== undefined ? { withinMs: poll.withinMs } : {}),
      ...(poll.attempts !== undefined ? { attempts: poll.attempts } : {}),
      signal,
    },
  );
  if (!r.done) throw poll.gaveUp(last);
}

/** The answer's verdict, or throws the error its outcome makes. */
function resolve(a: Answer): Verdict {
  if (typeof a.outcome === 'function') throw a.outcome(a.lines);
  return a.outcome;
}

/** Whether a step's `onlyIf` query is answered with a matching line. */
async function guard(at: AtChannel, g: { cmd: string; answer: LineMatch }, signal: AbortSignal): Promise<boolean> {
  try {
    const r = await at.send(g.cmd, { signal });
    return [...r.lines, r.final].some((l) => matchLine(g.answer, l));
  } catch (err) {
    if (err instanceof AtCommandError) return false;
    throw err;
  }
}

/** One attempt of a step: each of its commands in turn, as `cmd` describes. */
async function attempt<P>(at: AtChannel, step: ScriptStep<P>, signal: AbortSignal, polled: boolean): Promise<Answer> {
  const cmds = typeof step.cmd === 'string' ? [step.cmd] : step.cmd;
  let first: Answer | undefined;
  let lastAnswer: Answer | undefined;
  const lines: string[] = [];
  for (const cmd of cmds) {
    const a = await ask(at, cmd, step, signal, polled);
    lines.push(...a.lines);
    if (a.outcome === 'next' && a.decided) return { ...a, lines };
    if (a.decided) first ??= a;
    lastAnswer = a;
  }
  return { ...(first ?? lastAnswer!), lines };
}

/** Sends one command and judges its answer (or refusal, timeout, abandonment) by the step. */
async function ask<P>(
  at: AtChannel,
  cmd: string,
  step: ScriptStep<P>,
  signal: AbortSignal,
  polled: boolean,
): Promise<Answer> {
  const o: AtSendOptions = { signal, ...(step.timeoutMs !== undefined ? { timeoutMs: step.timeoutMs } : {}) };
  let r: AtResponse;
  try {
    r = await at.send(cmd, o);
  } catch (err) {
    if (err instanceof AtCommandError && step.refused) {
      const outcome = (err.cme !== undefined ? step.refused[err.cme] : undefined) ?? step.refused.other;
      if (outcome !== undefined) return { outcome, decided: false, lines: [...err.lines, err.final], error: err };
    }
    if (err instanceof AtTimeoutError && step.timedOut)
      return { outcome: step.timedOut, decided: false, lines: [...err.lines], error: err };
    if (err instanceof AtAbandonedError && step.abandoned)
      return { outcome: step.abandoned, decided: false, lines: [], error: err };
    throw err;
  }
  const lines = [...r.lines, r.final];
  if (step.expect) {
    for (const line of lines) {
      const m = matchLine(step.expect, line);
      if (m) {
        step.capture?.(m, line);
        return { outcome: 'next', decided: true, lines };
      }
    }
  }
  for (const [match, fail] of step.abort ?? []) {
    if (lines.some((l) => matchLine(match, l))) return { outcome: fail, decided: true, lines };
  }
  if (step.pending && lines.some((l) => matchLine(step.pending!, l))) return { outcome: 'again', decided: true, lines };
  if (!step.expect) return { outcome: 'next', decided: false, lines };
  return {
    outcome: step.otherwise ?? (polled ? 'again' : () => new AtUnexpectedAnswerError(cmd, lines)),
    decided: false,
    lines,
  };
}

function matchLine(m: LineMatch, line: string): unknown {
  return m instanceof RegExp ? m.exec(line) : m(line);
}

/** An AbortSignal that aborts with the first of `a`'s or `b`'s reasons (Node 20.0 lacks AbortSignal.any). */
function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal & { dispose(): void } {
  const c = new AbortController();
  const from = (s: AbortSignal) => () => c.abort(s.reason);
  const onA = from(a);
  const onB = b ? from(b) : undefined;
  if (a.aborted) onA();
  else a.addEventListener('abort', onA, { once: true });
  if (b && onB) {
    if (b.aborted) onB();
    else b.addEventListener('abort', onB, { once: true });
  }
  return Object.assign(c.signal, {
    dispose: () => {
      a.removeEventListener('abort', onA);
      if (b && onB) b.removeEventListener('abort', onB);
    },
  });
}
