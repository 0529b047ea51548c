// `synod sim` as a user meets it: summary line, exit statuses, and a printed
// replay command that really replays the failure it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { listMutants } from '../../src/sim/mutants.js';

interface Captured {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function synod(...args: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  let clock = 0;
  const io: CliIo = {
    out: (text) => void (out += `${text}\n`),
    write: (text) => void (out += text),
    err: (text) => void (err += `${text}\n`),
    isTTY: false,
    now: () => (clock += 1),
    setExitCode: () => undefined,
  };
  const code = await main(['node', 'synod', ...args], io);
  return { code, out, err };
}

test('a clean sweep prints the summary line and figures and exits 0', async () => {
  const { code, out } = await synod('sim', '--seeds', '4', '--jobs', '1');
  assert.equal(code, 0, out);
  assert.match(out, /^seeds: 4, violations: 0$/m);
  assert.match(out, /seeds\/s/);
  assert.match(out, /client ops completed/);
  assert.match(out, /^faults: message-lost \d+/m);
});

test('--no-reconfiguration runs a fixed membership and says so in the run line', async () => {
  const { code, out } = await synod('sim', '--seeds', '2', '--jobs', '1', '--no-reconfiguration');
  assert.equal(code, 0, out);
  assert.match(out, /^synod sim: .*--no-reconfiguration/m);
  assert.match(out, /^reconfigurations: grow 0, promote 0, shrink 0,/m);
  const on = await synod('sim', '--seeds', '2', '--jobs', '1');
  assert.doesNotMatch(on.out, /^reconfigurations: grow 0, promote 0, shrink 0, replace 0, replace-as-learner 0, swap-in 0,/m);
});

test('--list-mutants prints one name a line', async () => {
  const { code, out } = await synod('sim', '--list-mutants');
  assert.equal(code, 0);
  assert.deepEqual(out.trim().split('\n'), listMutants());
});

test('a mutant run exits 1 and its printed replay command reproduces the same violation', async () => {
  const sweep = await synod('sim', '--seeds', '6', '--mutant', 'apply-out-of-order', '--jobs', '1');
  assert.equal(sweep.code, 1);
  const failure = /^FAIL (seed \d+ .*)$/m.exec(sweep.out);
  const replay = /replay: synod (sim .*)$/m.exec(sweep.out);
  assert.ok(failure !== null && replay !== null, sweep.out);
  const again = await synod(...(replay[1] as string).split(' '));
  assert.equal(again.code, 1);
  assert.match(again.out, new RegExp(`^FAIL ${escape(failure[1] as string)}$`, 'm'));
  assert.match(again.out, /last \d+ trace lines:/, 'a replay of one seed shows its trace tail');
});

test('wrong flags give a clear error and exit 2', async () => {
  for (const [args, message] of [
    [['sim', '--nodes', '4'], /Allowed choices are 3, 5/],
    [['sim', '--seeds', 'many'], /--seeds must be an integer/],
    [['sim', '--loss', '1.5'], /--loss must be a probability/],
    [['sim', '--mutant', 'no-such-bug'], /Allowed choices are/],
    [['sim', '--seed', '3', '--seeds', '9'], /cannot be combined/],
    [['sim', '--frobnicate'], /unknown option/],
    [['no-such-command'], /unknown command/],
  ] as const) {
    const { code, err } = await synod(...args);
    assert.equal(code, 2, `synod ${args.join(' ')}`);
    assert.match(err, message, `synod ${args.join(' ')}`);
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
