/** The static server for the built lab (src/lab-server/serve.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startLabServer, type LabServer } from '../../src/lab-server/serve.js';

let root: string;
let server: LabServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'synod-lab-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>lab</title>');
  writeFileSync(join(root, 'assets', 'app-1234.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'app-1234.css'), 'body{}');
  server = await startLabServer({ port: 0, root });
});

after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** A raw GET, so paths like /../ reach the server unnormalized. */
function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the page and its assets with the right content types, on loopback', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.type, /^text\/html/);
  assert.equal((await get('/assets/app-1234.js')).type, 'text/javascript; charset=utf-8');
  assert.equal((await get('/assets/app-1234.css')).type, 'text/css; charset=utf-8');
  assert.equal((await get('/index.html?x=1')).status, 200);
});

test('never serves files outside its root, and answers 404 and 405 plainly', async () => {
  // Dot segments are resolved away by URL parsing; encoded slashes survive it and are caught after decoding.
  assert.notEqual((await get('/../package.json')).status, 200);
  assert.equal((await get('/..%2f..%2fetc%2fpasswd')).status, 403);
  assert.equal((await get('/assets%2f..%2f..%2f..%2fpackage.json')).status, 403);
  assert.equal((await get('/missing.js')).status, 404);
  assert.equal((await get('/', 'POST')).status, 405);
});

test('says how to build the lab when the build is missing', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'synod-lab-empty-'));
  const bare = await startLabServer({ port: 0, root: empty });
  try {
    const response = await fetch(bare.url);
    assert.equal(response.status, 503);
    assert.match(await response.text(), /npm run lab:build/);
  } finally {
    await bare.close();
    rmSync(empty, { recursive: true, force: true });
  }
});
