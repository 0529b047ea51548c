/**
 * "Export as test": turns a playground scenario into a node:test file that
 * replays it and asserts the safety checks, so a scenario found by clicking
 * becomes a regression test. Save the file under test/lab/ (it imports the lab
 * model through ../../src/...) and it runs with the rest of the suite.
 */
import type { PlaygroundScenario } from './playground-scenario.js';

/** A file name safe for any file system, ending in .test.ts. */
export function exportFileName(title: string): string {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
  return `${slug.length > 0 ? slug : 'scenario'}.test.ts`;
}

export function exportPlaygroundTest(scenario: PlaygroundScenario, title: string): string {
  // One action per line: readable in a diff, and still plain JSON.
  const actions = scenario.actions.map((a) => `    ${JSON.stringify(a)}`).join(',\n');
  const json = `{\n  "seed": ${scenario.seed},\n  "replicas": ${scenario.replicas},\n  "bug": ${JSON.stringify(scenario.bug)},\n  "actions": [\n${actions}\n  ]\n}`;
  const quoted = JSON.stringify(title);
  return `/**
 * Exported from the Synod lab (Multi-Paxos playground): ${title.replace(/\*\//g, '* /')}.
 * It replays the scenario below with the real replicas and asserts the checks
 * the lab shows live: one value per slot on every replica, and a linearizable
 * client history.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayPlayground } from '../../src/explore/lab/playground.js';
import { parsePlaygroundScenario, type PlaygroundScenario } from '../../src/explore/lab/playground-scenario.js';

const scenario: PlaygroundScenario = ${json};

test(${JSON.stringify(`lab scenario ${title}: every slot agrees and the client history is linearizable`)}, () => {
  const parsed = parsePlaygroundScenario(scenario);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  const playground = replayPlayground(parsed.value);
  const safety = playground.safety();
  assert.equal(safety.invariant, null, ${quoted} + ': a replica assertion fired');
  assert.deepEqual(safety.agreement.conflicts, [], ${quoted} + ': slots with two values');
  assert.notEqual(safety.linearizability.kind, 'violation', JSON.stringify(safety.linearizability));
});
`;
}
