/**
 * The nemesis schedule is a pure function of the seed and fits the run: same
 * seed, same schedule; faults never overlap and end before the cooldown; a
 * 70-second run (the suite's) always has room for every kind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bridgeSides, faultDurationMs, FAULT_KINDS, majorityMinority, planSchedule } from '../../src/chaos/schedule.js';

describe('nemesis schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    const options = { durationMs: 120_000, nodes: 5, kinds: FAULT_KINDS };
    assert.deepEqual(planSchedule({ ...options, seed: 42 }), planSchedule({ ...options, seed: 42 }));
    assert.notDeepEqual(planSchedule({ ...options, seed: 42 }), planSchedule({ ...options, seed: 43 }));
  });

  it('never overlaps two faults and ends every fault before the cooldown', () => {
    for (let seed = 0; seed < 200; seed += 1) {
      const schedule = planSchedule({ seed, durationMs: 90_000, nodes: 3, kinds: FAULT_KINDS, cooldownMs: 1_500 });
      for (const [i, fault] of schedule.entries()) {
        const end = fault.atMs + faultDurationMs(fault.plan);
        assert.ok(end <= 90_000 - 1_500, `seed ${seed}: fault ${i} ends at ${end}`);
        const next = schedule[i + 1];
        if (next !== undefined) assert.ok(next.atMs > end, `seed ${seed}: fault ${i + 1} starts before fault ${i} is healed`);
      }
    }
  });

  it('has every kind in a 65 s run, with the whole first round done by 50 s for any seed', () => {
    let latest = 0;
    for (let seed = 0; seed < 1_000; seed += 1) {
      const schedule = planSchedule({ seed, durationMs: 65_000, nodes: 3, kinds: FAULT_KINDS });
      const kinds = new Set(schedule.map((f) => f.plan.kind));
      assert.deepEqual([...FAULT_KINDS].filter((k) => !kinds.has(k)), [], `seed ${seed} misses kinds`);
      const first = schedule[FAULT_KINDS.length - 1];
      assert.ok(first !== undefined);
      latest = Math.max(latest, first.atMs + faultDurationMs(first.plan));
    }
    // Leaves room for the executor to run late (restarts, leader lookups).
    assert.ok(latest <= 50_000, `the first round ends as late as ${latest} ms`);
  });

  it('splits nodes into a strict majority and the rest, and a bridge into two sides and a middle', () => {
    assert.deepEqual(majorityMinority([2, 0, 1]), [[2, 0], [1]]);
    assert.deepEqual(majorityMinority([4, 3, 2, 1, 0]), [[4, 3, 2], [1, 0]]);
    assert.deepEqual(bridgeSides([1, 0, 2]), [1, [0], [2]]);
    assert.deepEqual(bridgeSides([3, 0, 1, 2, 4]), [3, [0, 1], [2, 4]]);
  });

  it('plans nothing when no fault kind is enabled', () => {
    assert.deepEqual(planSchedule({ seed: 1, durationMs: 60_000, nodes: 3, kinds: [] }), []);
  });
});
