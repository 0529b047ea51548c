/**
 * The Multi-Paxos playground model (src/explore/lab/playground.ts): exact replay
 * (time travel and links depend on it), the fault presets over the real replicas
 * with the safety checks green, and a planted bug that turns them red.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeScenario, encodeScenario } from '../../src/explore/lab/codec.js';
import { exportPlaygroundTest, exportFileName } from '../../src/explore/lab/export-test.js';
import { LabActionError, Playground, replayPlayground } from '../../src/explore/lab/playground.js';
import { defaultPlaygroundScenario, parsePlaygroundScenario, PRESET_NAMES, type PlaygroundScenario } from '../../src/explore/lab/playground-scenario.js';
import { Timeline } from '../../src/explore/lab/timeline.js';

/** Everything the lab shows about a playground, as one comparable value. */
function snapshot(pg: Playground): unknown {
  return {
    clock: pg.clock,
    logs: pg.nodes.map((n) => [pg.isUp(n), pg.status(n), pg.log(n, 1000)]),
    messages: pg.messages(),
    clients: pg.clientViews(),
    history: pg.history(),
    notes: pg.notes,
  };
}

test('replaying a scenario twice gives the same state, step for step', () => {
  const scenario: PlaygroundScenario = {
    ...defaultPlaygroundScenario(11, 5),
    actions: [...defaultPlaygroundScenario(11, 5).actions, { t: 'preset', name: 'lossy', steps: 60 }, { t: 'crash', node: 'n1' }, { t: 'preset', name: 'partition-storm', steps: 60 }],
  };
  for (let k = 0; k <= scenario.actions.length; k += 1) {
    assert.deepEqual(snapshot(replayPlayground(scenario, k)), snapshot(replayPlayground(scenario, k)), `prefix ${k} differs`);
  }
  const live = new Playground(scenario);
  for (const action of scenario.actions) live.apply(action);
  assert.deepEqual(snapshot(live), snapshot(replayPlayground(scenario)));
});

test('dropping a message and stepping back brings it back in flight', () => {
  const base = defaultPlaygroundScenario();
  const before = replayPlayground(base);
  const message = before.messages()[0];
  assert.ok(message !== undefined, 'nothing in flight to drop');
  const timeline = new Timeline(base.actions);
  timeline.push({ t: 'drop', id: message.id });
  const after = replayPlayground({ ...base, actions: timeline.applied });
  assert.ok(!after.messages().some((m) => m.id === message.id));
  timeline.back();
  const back = replayPlayground({ ...base, actions: timeline.applied });
  assert.ok(back.messages().some((m) => m.id === message.id));
  assert.deepEqual(snapshot(back), snapshot(before));
  // Acting in the past branches: the drop is forgotten.
  assert.equal(timeline.push({ t: 'tick', count: 1 }), true);
  assert.equal(timeline.length, base.actions.length + 1);
});

test('a scenario survives the trip through a link, and a broken link is refused with a reason', () => {
  const scenario: PlaygroundScenario = { ...defaultPlaygroundScenario(3, 4), bug: 'commit-without-majority' };
  const parsed = parsePlaygroundScenario(decodeScenario(encodeScenario(scenario)));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, scenario);
  assert.equal(decodeScenario('%%%'), undefined);
  const bad = parsePlaygroundScenario({ ...scenario, actions: [{ t: 'crash', node: 'n9' }] });
  assert.ok(!bad.ok && bad.error.includes('action 0'));
  assert.ok(!parsePlaygroundScenario({ ...scenario, replicas: 8 }).ok);
  assert.ok(!parsePlaygroundScenario({ ...scenario, bug: 'no-such-bug' }).ok);
});

test('actions that do not fit the state are refused', () => {
  const pg = replayPlayground(defaultPlaygroundScenario());
  assert.throws(() => pg.apply({ t: 'deliver', id: 999 }), LabActionError);
  pg.apply({ t: 'crash', node: 'n2' });
  assert.throws(() => pg.apply({ t: 'campaign', node: 'n2' }), LabActionError);
});

for (const preset of PRESET_NAMES) {
  test(`the real replicas stay safe under the "${preset}" preset (5 seeds, 3 and 5 replicas)`, () => {
    let answered = 0;
    for (const replicas of [3, 5]) {
      for (let seed = 1; seed <= 5; seed += 1) {
        const pg = replayPlayground({ seed, replicas, bug: null, actions: [{ t: 'preset', name: preset, steps: 150 }] });
        const safety = pg.safety();
        assert.ok(safety.ok, `seed ${seed}, ${replicas} replicas: ${JSON.stringify(safety)}`);
        answered += pg.history().filter((o) => o.output !== undefined).length;
      }
    }
    assert.ok(answered > 0, 'no operation ever completed');
  });
}

test('a planted bug turns the checks red within a few seeds, naming the offending slots', () => {
  const red: number[] = [];
  for (let seed = 1; seed <= 10; seed += 1) {
    const pg = replayPlayground({ seed, replicas: 3, bug: 'commit-without-majority', actions: [{ t: 'preset', name: 'flaky-leader', steps: 600 }] });
    const safety = pg.safety();
    if (safety.ok) continue;
    red.push(seed);
    assert.ok(safety.agreement.conflicts.length > 0 || safety.linearizability.kind === 'violation');
    assert.ok(safety.agreement.conflicts.every((c) => c.values.length > 1 && c.slot > 0));
  }
  assert.ok(red.length > 0, 'the checks never caught commit-without-majority');
});

test('"export as test" writes a node:test file that carries the scenario exactly', () => {
  const scenario = defaultPlaygroundScenario(9);
  const source = exportPlaygroundTest(scenario, 'seed 9');
  assert.match(source, /from 'node:test'/);
  assert.match(source, /replayPlayground/);
  const json = /const scenario: PlaygroundScenario = (\{[\s\S]*?\n\});/.exec(source)?.[1];
  assert.ok(json !== undefined);
  assert.deepEqual(JSON.parse(json), scenario);
  assert.equal(exportFileName('Playground: seed 9, 3 replicas!'), 'playground-seed-9-3-replicas.test.ts');
});
