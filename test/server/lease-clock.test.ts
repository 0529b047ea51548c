// The read lease's clock on a node: monotonic, and never fooled by a suspend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leaseClock } from '../../src/server/lease-clock.js';

function sources(): { monotonic: number; wall: number; clock: () => number } {
  const time = { monotonic: 1_000, wall: 1_700_000_000_000 };
  const clock = leaseClock({ monotonic: () => time.monotonic, wall: () => time.wall });
  return Object.assign(time, { clock });
}

test('the lease clock follows the monotonic clock while the wall clock agrees', () => {
  const time = sources();
  const start = time.clock();
  time.monotonic += 250;
  time.wall += 250;
  assert.equal(time.clock() - start, 250);
});

test('after a suspend, which stops the monotonic clock, the lease clock catches up with the wall clock', () => {
  const time = sources();
  const start = time.clock();
  time.monotonic += 100;
  time.wall += 100;
  assert.equal(time.clock() - start, 100);
  // Asleep for 5 s: only the wall clock moved.
  time.wall += 5_000;
  time.monotonic += 1;
  assert.ok(time.clock() - start >= 5_100, `a lease taken before the suspend has run out (${time.clock() - start} ms)`);
});

test('a wall clock stepped back or running slow never holds the lease clock back, and it never runs backwards', () => {
  const time = sources();
  const readings = [time.clock()];
  time.wall -= 60_000;
  time.monotonic += 40;
  readings.push(time.clock());
  time.wall += 10;
  time.monotonic += 40;
  readings.push(time.clock());
  assert.deepEqual(readings.map((r) => r - (readings[0] as number)), [0, 40, 80]);
  // A forward step afterwards moves it ahead, by no more than the step.
  time.wall += 120_000;
  const ahead = time.clock() - (readings[0] as number);
  assert.ok(ahead > 80 && ahead <= 80 + 120_000, `ahead ${ahead}`);
});
