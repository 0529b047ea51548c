// Flags cross a boundary: every wrong value gets a clear error naming the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseDurationMs, parseNodeConfig } from '../../src/server/config.js';

test('durations are read as etcd writes them, and nonsense names the flag', () => {
  assert.equal(parseDurationMs('10m', '--x', 1), 600_000);
  assert.equal(parseDurationMs('30s', '--x', 1), 30_000);
  assert.equal(parseDurationMs('250ms', '--x', 1), 250);
  assert.equal(parseDurationMs('250', '--x', 1), 250);
  assert.equal(parseDurationMs(undefined, '--x', 7), 7);
  for (const bad of ['', '0s', '-1s', '1.5s', '10 minutes', '1d']) assert.throws(() => parseDurationMs(bad, '--x', 1), /--x: .* is not a positive duration/);
});

test('a node configuration from flags: watch options, and errors that name the flag', () => {
  const config = parseNodeConfig({ name: 'n1', experimentalWatchProgressNotifyInterval: '2s', watchQueueBytesMax: '4096' });
  assert.equal(config.watchProgressNotifyIntervalMs, 2_000);
  assert.equal(config.watchQueueBytesMax, 4096);
  assert.equal(config.initialClusterState, 'new');
  assert.throws(() => parseNodeConfig({ name: 'n1', watchQueueBytesMax: 'lots' }), (e: unknown) => e instanceof ConfigError && /--watch-queue-bytes-max/.test(e.message));
  assert.throws(() => parseNodeConfig({ name: 'n1', initialClusterState: 'joining' }), /--initial-cluster-state must be "new" or "existing"/);
  assert.throws(() => parseNodeConfig({ name: 'n1', initialCluster: 'n2=http://127.0.0.1:2380' }), /does not list this member/);
});
