/**
 * Fault presets for the playground. Each step draws from the session's seeded
 * PRNG, so a preset is as replayable as a click: the same seed and the same
 * earlier actions give the same faults. Every preset also runs a small client
 * workload (gets, puts and compare-and-sets on two keys) so the linearizability
 * check has a history to judge.
 *
 *   calm             deliver in order, tick now and then
 *   lossy            also drop 20% and duplicate 10% of deliveries, reorder a little
 *   flaky-leader     crash the leader now and then, restart crashed replicas later
 *   partition-storm  split the cluster, cut one-way links, heal, over and over
 */
import type { KvInput } from '../../check/history.js';
import type { Random } from '../../core/random.js';
import type { Playground } from './playground.js';
import { CLIENT_NAMES, type PresetName } from './playground-scenario.js';

const KEYS = ['x', 'y'] as const;
/** Steps a client waits for an answer before sending its operation again. */
const RETRY_AFTER_STEPS = 15;
const DELIVERIES_PER_STEP = 3;

export function runPreset(playground: Playground, name: PresetName, steps: number): void {
  const random = playground.random;
  const waiting = new Map<string, number>();
  for (let step = 0; step < steps && playground.failure === null; step += 1) {
    workload(playground, random, waiting);
    faults(playground, name, random);
    network(playground, name, random);
  }
}

function workload(playground: Playground, random: Random, waiting: Map<string, number>): void {
  for (const client of CLIENT_NAMES) {
    if (playground.hasPending(client)) {
      const waited = (waiting.get(client) ?? 0) + 1;
      waiting.set(client, waited);
      if (waited >= RETRY_AFTER_STEPS) {
        waiting.set(client, 0);
        const node = target(playground, random);
        if (node !== null) playground.exec({ t: 'retry', client, node });
      }
    } else if (random.chance(0.12)) {
      const node = target(playground, random);
      waiting.set(client, 0);
      if (node !== null) playground.exec({ t: 'op', client, node, op: randomOp(random) });
    }
  }
}

function faults(playground: Playground, name: PresetName, random: Random): void {
  const down = playground.nodes.filter((n) => !playground.isUp(n));
  const faultsMax = Math.floor((playground.nodes.length - 1) / 2);
  switch (name) {
    case 'calm':
    case 'lossy':
      return;
    case 'flaky-leader': {
      const leader = playground.leader();
      if (leader !== null && down.length < faultsMax && random.chance(0.03)) playground.exec({ t: 'crash', node: leader });
      else if (down.length > 0 && random.chance(0.08)) playground.exec({ t: 'restart', node: random.pick(down) });
      return;
    }
    case 'partition-storm': {
      const roll = random.nextFloat();
      if (roll < 0.03) {
        const shuffled = shuffle(playground.nodes, random);
        const cut = random.intBetween(1, shuffled.length - 1);
        playground.exec({ t: 'partition', groups: [shuffled.slice(0, cut), shuffled.slice(cut)] });
      } else if (roll < 0.05) {
        const from = random.pick(playground.nodes);
        const to = random.pick(playground.nodes.filter((n) => n !== from));
        playground.exec({ t: 'cut', from, to });
      } else if (roll < 0.08) {
        playground.exec({ t: 'heal' });
      }
      return;
    }
  }
}

function network(playground: Playground, name: PresetName, random: Random): void {
  if (random.chance(0.2)) playground.exec({ t: 'tick', count: 1 });
  // A few messages move per step, so the network keeps up with the heartbeats.
  for (let moved = 0; moved < DELIVERIES_PER_STEP; moved += 1) {
    const messages = playground.messages();
    if (messages.length === 0) return;
    // Mostly the oldest message; sometimes one of the next few (reordering).
    const pick = random.chance(0.7) ? messages[0] : random.pick(messages.slice(0, 4));
    if (pick === undefined) return;
    const roll = name === 'lossy' ? random.nextFloat() : 1;
    if (roll < 0.2) playground.exec({ t: 'drop', id: pick.id });
    else if (roll < 0.3) playground.exec({ t: 'duplicate', id: pick.id });
    else playground.exec({ t: 'deliver', id: pick.id });
  }
}

function target(playground: Playground, random: Random): string | null {
  const leader = playground.leader();
  if (leader !== null && random.chance(0.8)) return leader;
  const up = playground.nodes.filter((n) => playground.isUp(n));
  return up.length === 0 ? null : random.pick(up);
}

function randomOp(random: Random): KvInput {
  const key = random.pick(KEYS);
  const value = String(random.intBetween(1, 9));
  const roll = random.nextFloat();
  if (roll < 0.4) return { kind: 'put', key, value };
  if (roll < 0.75) return { kind: 'get', key };
  return { kind: 'cas', key, expected: random.chance(0.3) ? null : String(random.intBetween(1, 9)), value };
}

/** Fisher-Yates, driven by the session's PRNG. */
function shuffle<T>(items: readonly T[], random: Random): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i -= 1) {
    const j = random.intBetween(0, i);
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}
