/** Peer URLs and --initial-cluster lists: accepted forms and clear errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressError, formatPeerAddress, parseInitialCluster, parsePeerUrl } from '../../src/net/address.js';

describe('parsePeerUrl', () => {
  it('accepts http://HOST:PORT with IPv4, names and bracketed IPv6', () => {
    assert.deepEqual(parsePeerUrl('http://127.0.0.1:2380'), { host: '127.0.0.1', port: 2380 });
    assert.deepEqual(parsePeerUrl(' http://node-1.example:2380/ '), { host: 'node-1.example', port: 2380 });
    assert.deepEqual(parsePeerUrl('http://[::1]:2380'), { host: '::1', port: 2380 });
    assert.deepEqual(parsePeerUrl('http://10.0.0.1:80'), { host: '10.0.0.1', port: 80 });
    assert.deepEqual(parsePeerUrl('http://127.0.0.1:0', { allowPortZero: true }), { host: '127.0.0.1', port: 0 });
  });

  const refused: [string, RegExp][] = [
    ['127.0.0.1:2380', /not a URL|scheme/],
    ['https://127.0.0.1:2380', /https \(TLS\) is not supported yet/],
    ['ftp://127.0.0.1:2380', /scheme ftp: is not http:/],
    ['http://127.0.0.1', /the port is missing/],
    ['http://127.0.0.1:99999', /not a URL/],
    ['http://127.0.0.1:0', /port 0 is only allowed for a listen address/],
    ['http://127.0.0.1:2380/raft', /a path \(\/raft\) is not allowed/],
    ['http://u:p@127.0.0.1:2380', /credentials are not allowed/],
    ['http://127.0.0.1:2380?x=1', /a query or fragment/],
    ['', /not a URL/],
  ];
  for (const [text, pattern] of refused) {
    it(`refuses ${JSON.stringify(text)} with a clear reason`, () => {
      assert.throws(() => parsePeerUrl(text), (e: unknown) => e instanceof AddressError && pattern.test(e.message) && e.message.includes('expected http://HOST:PORT'));
    });
  }

  it('formats back to the same URL', () => {
    for (const text of ['http://127.0.0.1:2380', 'http://[::1]:7000']) assert.equal(formatPeerAddress(parsePeerUrl(text)), text);
  });
});

describe('parseInitialCluster', () => {
  it('parses etcd --initial-cluster lists', () => {
    const members = parseInitialCluster('n1=http://127.0.0.1:2380, n2=http://127.0.0.1:2381,n3=http://127.0.0.1:2382');
    assert.deepEqual([...members.keys()], ['n1', 'n2', 'n3']);
    assert.deepEqual(members.get('n2' as never), { host: '127.0.0.1', port: 2381 });
  });

  it('refuses duplicates, missing names and empty lists', () => {
    assert.throws(() => parseInitialCluster('n1=http://a:1,n1=http://b:2'), /"n1" is listed twice/);
    assert.throws(() => parseInitialCluster('=http://a:1'), /expected NAME=http:\/\/HOST:PORT/);
    assert.throws(() => parseInitialCluster('http://a:1'), /expected NAME=http:\/\/HOST:PORT/);
    assert.throws(() => parseInitialCluster(' , '), /lists no members/);
    assert.throws(() => parseInitialCluster('n1=https://a:1'), /TLS/);
  });
});
