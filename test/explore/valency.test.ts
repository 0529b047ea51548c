/**
 * The FLP explorer (src/explore): valency over the whole reachable space of the
 * majority-vote protocol and of a 3-process Paxos instance, and the two lemmas
 * of the FLP proof played out (Fischer, Lynch and Paterson 1985, Lemmas 2 and 3).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  StateSpace,
  adjacentPairs,
  applyEvent,
  classifyInitialConfigurations,
  configurationKey,
  decisionMask,
  extendBivalentRun,
  findBivalentInitial,
  initialConfiguration,
  majorityVoteProtocol,
  paxosModelProtocol,
  successors,
  valencyFromMask,
  type Protocol,
} from '../../src/explore/index.js';

const TIME_LIMIT = { timeout: 10_000 };

/** Explores every initial configuration, so the whole space is in `space`. */
function exploreAll<S, M>(protocol: Protocol<S, M>): StateSpace<S, M> {
  const space = new StateSpace(protocol);
  classifyInitialConfigurations(space);
  return space;
}

function checkValencyConsistent<S, M>(space: StateSpace<S, M>): number {
  let checked = 0;
  for (const configuration of space.configurationsExplored()) {
    const own = decisionMask(space.protocol, configuration);
    const union = space.moves(configuration).reduce((mask, move) => mask | space.mask(move.next), own);
    assert.equal(space.mask(configuration), union, `valency of ${space.key(configuration)} is not the union of its successors'`);
    checked += 1;
  }
  return checked;
}

function checkDecidedUnivalent<S, M>(space: StateSpace<S, M>): number {
  let decided = 0;
  for (const configuration of space.configurationsExplored()) {
    const own = decisionMask(space.protocol, configuration);
    if (own === 0) continue;
    decided += 1;
    assert.ok(own === 1 || own === 2, `two processes decided differently in ${space.key(configuration)}`);
    assert.equal(space.valency(configuration), valencyFromMask(own), `decided configuration ${space.key(configuration)} is not univalent`);
  }
  return decided;
}

describe('majority vote in rounds', () => {
  const protocol = majorityVoteProtocol({ roundsMax: 6 });

  test('a configuration\'s valency is the union of its successors\' valencies (and its own decisions)', TIME_LIMIT, () => {
    const space = exploreAll(protocol);
    assert.ok(space.size > 1000 && space.size < 100_000, `unexpected space size ${space.size}`);
    assert.equal(checkValencyConsistent(space), space.size);
  });

  test('every decided configuration is univalent: agreement holds everywhere', TIME_LIMIT, () => {
    const space = exploreAll(protocol);
    assert.ok(checkDecidedUnivalent(space) > 0, 'no configuration decides at all');
  });

  test('Lemma 2: a bivalent initial configuration exists, and unanimous inputs are univalent', TIME_LIMIT, () => {
    const space = new StateSpace(protocol);
    const classified = classifyInitialConfigurations(space);
    const bivalent = findBivalentInitial(space);
    assert.ok(bivalent !== undefined, 'no bivalent initial configuration');
    assert.deepEqual(bivalent.inputs, [1, 0, 0]);
    assert.equal(classified.find((c) => c.inputs.join('') === '000')?.valency, '0-valent');
    assert.equal(classified.find((c) => c.inputs.join('') === '111')?.valency, '1-valent');
    // Walking from 000 to 111 one input at a time must leave 0-valence somewhere.
    assert.ok(adjacentPairs(classified).some((p) => p.a.valency !== p.b.valency));
  });

  test('Lemma 3: the adversary keeps a run bivalent for at least 20 events, each one enabled', TIME_LIMIT, () => {
    const space = new StateSpace(protocol);
    const start = findBivalentInitial(space);
    assert.ok(start !== undefined);
    const run = extendBivalentRun(space, start.configuration, 20);
    assert.equal(run.stopped, null, `the adversary stopped: ${run.stopped}`);
    assert.ok(run.events.length >= 20, `only ${run.events.length} events`);
    let current = start.configuration;
    for (const [i, event] of run.events.entries()) {
      current = applyEvent(protocol, current, event);
      assert.equal(configurationKey(protocol, current), configurationKey(protocol, run.configurations[i + 1] as typeof current));
      assert.equal(space.valency(current), 'bivalent', `event ${i} left bivalence`);
      assert.equal(decisionMask(protocol, current), 0, 'a bivalent configuration cannot have a decision');
    }
  });

  test('the adversary delivers messages fairly: no message stays in flight for the whole run', TIME_LIMIT, () => {
    const space = new StateSpace(protocol);
    const start = findBivalentInitial(space);
    assert.ok(start !== undefined);
    const run = extendBivalentRun(space, start.configuration, 24);
    const firstBuffer = new Set(start.configuration.buffer.map((m) => protocol.messageKey(m)));
    const last = run.configurations[run.configurations.length - 1];
    assert.ok(last !== undefined);
    const stillThere = last.buffer.map((m) => protocol.messageKey(m)).filter((k) => firstBuffer.has(k));
    assert.deepEqual(stillThere, [], 'an initial message was never delivered');
  });

  test('one round is not enough to be bivalent: the one-shot vote is decided by the inputs and can end stuck', TIME_LIMIT, () => {
    const space = exploreAll(majorityVoteProtocol({ roundsMax: 1 }));
    assert.equal(findBivalentInitial(space), undefined);
    assert.ok(space.configurationsExplored().some((c) => space.valency(c) === 'stuck'), 'no stuck configuration');
  });
});

describe('single-decree Paxos among 3 processes', () => {
  const protocol = paxosModelProtocol({ ballotsMax: 4 });

  test('valency is consistent and every decided configuration is univalent', TIME_LIMIT, () => {
    const space = exploreAll(protocol);
    assert.ok(space.size < 200_000, `unexpected space size ${space.size}`);
    assert.equal(checkValencyConsistent(space), space.size);
    assert.ok(checkDecidedUnivalent(space) > 0);
  });

  test('the point of no return: a configuration turns univalent before any process has decided', TIME_LIMIT, () => {
    const space = exploreAll(protocol);
    const chosenUnknown = space.configurationsExplored().filter((c) => decisionMask(protocol, c) === 0 && space.valency(c) !== 'bivalent' && space.valency(c) !== 'stuck');
    assert.ok(chosenUnknown.length > 0);
    // And there is an event from a bivalent configuration straight into one of them: a single acceptance.
    const entered = space.configurationsExplored().some((c) => space.valency(c) === 'bivalent'
      && successors(protocol, c).some((s) => decisionMask(protocol, s.next) === 0 && space.valency(s.next) !== 'bivalent' && s.event.message?.startsWith('acc') === true));
    assert.ok(entered, 'no acceptance ends bivalence');
  });

  test('Lemma 2 and 3: mixed inputs are bivalent and the adversary keeps dueling proposers undecided', TIME_LIMIT, () => {
    const space = new StateSpace(protocol);
    const classified = classifyInitialConfigurations(space);
    assert.deepEqual(classified.map((c) => c.valency), ['0-valent', 'bivalent', 'bivalent', 'bivalent', 'bivalent', 'bivalent', 'bivalent', '1-valent']);
    const start = initialConfiguration(protocol, [1, 0, 0]);
    const run = extendBivalentRun(space, start, 100);
    assert.ok(run.events.length >= 8, `only ${run.events.length} events`);
    assert.ok(run.configurations.every((c) => space.valency(c) === 'bivalent'));
    // The bounded model runs out of ballots; the real protocol would go on.
    assert.notEqual(run.stopped, null);
  });
});
