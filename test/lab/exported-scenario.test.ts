/**
 * Exported from the Synod lab (Multi-Paxos playground): lossy network, crashed leader, partition storm, heal (seed 7, 5 replicas).
 * It replays the scenario below with the real replicas and asserts the checks
 * the lab shows live: one value per slot on every replica, and a linearizable
 * client history.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayPlayground } from '../../src/explore/lab/playground.js';
import { parsePlaygroundScenario, type PlaygroundScenario } from '../../src/explore/lab/playground-scenario.js';

const scenario: PlaygroundScenario = {
  "seed": 7,
  "replicas": 5,
  "bug": null,
  "actions": [
    {"t":"campaign","node":"n1"},
    {"t":"settle"},
    {"t":"op","client":"c1","node":"n1","op":{"kind":"put","key":"x","value":"1"}},
    {"t":"preset","name":"lossy","steps":60},
    {"t":"crash","node":"n1"},
    {"t":"partition","groups":[["n1","n2"],["n3","n4","n5"]]},
    {"t":"tick","count":12},
    {"t":"settle"},
    {"t":"op","client":"c2","node":"n4","op":{"kind":"cas","key":"x","expected":"1","value":"2"}},
    {"t":"preset","name":"partition-storm","steps":80},
    {"t":"heal"},
    {"t":"restart","node":"n1"},
    {"t":"preset","name":"calm","steps":60}
  ]
};

test("lab scenario lossy network, crashed leader, partition storm, heal (seed 7, 5 replicas): every slot agrees and the client history is linearizable", () => {
  const parsed = parsePlaygroundScenario(scenario);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  const playground = replayPlayground(parsed.value);
  const safety = playground.safety();
  assert.equal(safety.invariant, null, "lossy network, crashed leader, partition storm, heal (seed 7, 5 replicas)" + ': a replica assertion fired');
  assert.deepEqual(safety.agreement.conflicts, [], "lossy network, crashed leader, partition storm, heal (seed 7, 5 replicas)" + ': slots with two values');
  assert.notEqual(safety.linearizability.kind, 'violation', JSON.stringify(safety.linearizability));
});
