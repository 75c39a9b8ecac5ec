/** The AT script runner over the mock module's real bytes: steps, polls, guards, bounds. */
import { afterEach, describe, expect, it } from 'vitest';
import { AtChannel } from '../../src/at/index.js';
import { runScript, type AtScript, type ScriptStep } from '../../src/at/script.js';
import { MockModem, type MockModemOptions } from '../../src/mock/index.js';

type P = { step: string; message: string };

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function open(opts: MockModemOptions = {}): { mock: MockModem; at: AtChannel; commands: () => string[] } {
  const mock = new MockModem(opts);
  const at = new AtChannel(mock.hostStream(), { name: 'script-test' });
  cleanup.push(() => mock.close());
  cleanup.push(() => at.close());
  return { mock, at, commands: () => mock.transcript.filter((e) => e.kind === 'command').map((e) => e.text) };
}

const script = (steps: ScriptStep<P>[], timeoutMs = 10_000): AtScript<P> => ({ name: 'test script', steps, timeoutMs });

describe('runScript', () => {
  it('runs the steps in order, reports progress (attempts on a polled step) and captures answers', async () => {
    const { at, commands } = open({ registrationDelayMs: 300 });
    const progress: Array<P & { attempt?: number }> = [];
    let model: unknown;
    await runScript(
      at,
      script([
        { cmd: 'ATE0', progress: { step: 'echo', message: 'ATE0' } },
        {
          cmd: 'AT+CEREG?',
          progress: { step: 'reg', message: 'registration' },
          expect: /^\+CEREG:\s*\d+,[15]\b/,
          poll: { everyMs: 50, withinMs: 5000, gaveUp: () => new Error('never') },
        },
        { cmd: 'AT+CGMM', expect: /^\+CGMM:\s*"(.*)"$/, capture: (m) => (model = (m as RegExpExecArray)[1]) },
      ]),
      { onProgress: (p) => progress.push(p) },
    );
    expect(commands()[0]).toBe('ATE0');
    expect(commands().at(-1)).toBe('AT+CGMM');
    expect(new Set(commands().slice(1, -1))).toEqual(new Set(['AT+CEREG?']));
    expect(progress[0]).toEqual({ step: 'echo', message: 'ATE0' });
    expect(progress.filter((p) => p.step === 'reg').map((p) => p.attempt)).toEqual(
      Array.from({ length: progress.length - 1 }, (_, i) => i + 1),
    );
    expect(progress.length).toBeGreaterThan(2);
    expect(model).toBe('Air780E');
  });

  it('a polled step that never gets its answer gives up with its own error after withinMs', async () => {
    const { at } = open({ registrationDelayMs: 1e12 });
    await expect(
      runScript(
        at,
        script([
          {
            cmd: 'AT+CEREG?',
            expect: /^\+CEREG:\s*\d+,[15]\b/,
            poll: {
              everyMs: 20,
              withinMs: 200,
              gaveUp: (last) => Object.assign(new Error(`last ${last.lines[0]}`), { code: 'GAVE_UP' }),
            },
          },
        ]),
      ),
    ).rejects.toMatchObject({ code: 'GAVE_UP', message: 'last +CEREG: 0,2' });
  });

  it('the whole-script timeout ends a script whose steps would run longer, with the script error', async () => {
    const { at } = open({ registrationDelayMs: 1e12 });
    const steps: ScriptStep<P>[] = [
      {
        cmd: 'AT+CEREG?',
        expect: /^\+CEREG:\s*\d+,[15]\b/,
        poll: { everyMs: 20, withinMs: 60_000, gaveUp: () => new Error('never') },
      },
    ];
    await expect(runScript(at, script(steps, 300))).rejects.toMatchObject({ code: 'ERR_SCRIPT_TIMEOUT' });
    await expect(
      runScript(at, { ...script(steps, 300), timedOut: () => Object.assign(new Error('mine'), { code: 'MINE' }) }),
    ).rejects.toMatchObject({ code: 'MINE' });
  });

  it("aborting the signal stops the script at once with the signal's reason", async () => {
    const { at } = open({ registrationDelayMs: 1e12 });
    const ac = new AbortController();
    const run = runScript(
      at,
      script([
        {
          cmd: 'AT+CEREG?',
          expect: /^\+CEREG:\s*\d+,[15]\b/,
          poll: { everyMs: 20, withinMs: 60_000, gaveUp: () => new Error('never') },
        },
      ]),
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(Object.assign(new Error('stop'), { code: 'STOP' })), 100);
    await expect(run).rejects.toMatchObject({ code: 'STOP' });
    // The channel is still usable: nothing of the script is left in flight.
    await expect(at.send('AT')).resolves.toMatchObject({ final: 'OK' });
  });

  it('tries several commands in turn: a refused one is skipped, the first that answers as expected ends the attempt', async () => {
    const { at, commands } = open();
    await runScript(
      at,
      script([
        {
          cmd: ['AT+NOSUCH?', 'AT+CGREG?', 'AT+CREG?'],
          expect: /^\+C(G)?REG:\s*\d+,[15]\b/,
          refused: { other: 'again' },
        },
      ]),
    );
    expect(commands()).toEqual(['AT+NOSUCH?', 'AT+CGREG?']);
  });

  it('maps a refusal by CME number, and an unexpected answer without `otherwise` is ERR_AT_UNEXPECTED', async () => {
    const { at } = open({ sim: 'absent' });
    const err = await runScript(
      at,
      script([{ cmd: 'AT+CPIN?', refused: { 10: () => Object.assign(new Error('no sim'), { code: 'NO_SIM' }) } }]),
    ).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'NO_SIM' });
    await expect(runScript(at, script([{ cmd: 'AT+CGMM', expect: /^SIM800$/ }]))).rejects.toMatchObject({
      code: 'ERR_AT_UNEXPECTED',
      message: expect.stringContaining('"OK"]'),
    });
  });

  it("a step without poll that answers 'again' is a script mistake (ERR_BAD_ARGUMENT), not a silent pass", async () => {
    const { at } = open();
    await expect(
      runScript(at, script([{ cmd: 'AT+CEREG?', expect: /^never$/, pending: /^\+CEREG:/ }])),
    ).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
  });

  it('runs a step with onlyIf only when its query matches', async () => {
    const { at, commands } = open();
    const radioOn: ScriptStep<P> = { onlyIf: { cmd: 'AT+CFUN?', answer: /^\+CFUN:\s*0\b/ }, cmd: 'AT+CFUN=1' };
    await runScript(at, script([radioOn]));
    expect(commands()).toEqual(['AT+CFUN?']);
    await at.send('AT+CFUN=0');
    await runScript(at, script([radioOn]));
    expect(commands()).toEqual(['AT+CFUN?', 'AT+CFUN=0', 'AT+CFUN?', 'AT+CFUN=1']);
  });
});
