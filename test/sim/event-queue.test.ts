// The agenda's order is what makes a run a function of its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/core/random.js';
import { EventQueue } from '../../src/sim/event-queue.js';

test('events come out by time, and events at the same time in the order they were scheduled', () => {
  const queue = new EventQueue<number>();
  const random = new Random(9);
  const scheduled: { time: number; order: number }[] = [];
  for (let order = 0; order < 500; order += 1) {
    const time = random.intBetween(0, 40);
    queue.push(time, order);
    scheduled.push({ time, order });
  }
  const expected = [...scheduled].sort((a, b) => a.time - b.time || a.order - b.order).map((e) => e.order);
  const popped: number[] = [];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) popped.push(next.event);
  assert.deepEqual(popped, expected);
  assert.equal(queue.size, 0);
});

test('an event cannot be scheduled at a negative or non-finite time', () => {
  const queue = new EventQueue<string>();
  assert.throws(() => queue.push(-1, 'past'));
  assert.throws(() => queue.push(Number.NaN, 'never'));
});
