/**
 * The lab in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
 * playwright-core, against the built lab served by startLabServer. Skipped, with
 * a message, where that Chromium is not installed. Screenshots of every view go
 * to test-artifacts/lab/ for a person to look at.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { encodeScenario } from '../../src/explore/lab/codec.js';
import { startLabServer, type LabServer } from '../../src/lab-server/serve.js';

const CHROMIUM = '/usr/bin/chromium';
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const DIST = join(REPO, 'src', 'lab', 'dist');
const ARTIFACTS = join(REPO, 'test-artifacts', 'lab');
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium) — browser tests skipped`;

/** The newest modification time under `dir` (source files only). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Builds the lab if it is missing or older than any source it bundles. */
function ensureBuilt(): void {
  const index = join(DIST, 'index.html');
  const sources = Math.max(...['lab', 'explore', 'core', 'sim', 'check', 'smr'].map((d) => newest(join(REPO, 'src', d))));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'src/lab/vite.config.ts', '--logLevel', 'error'], { cwd: REPO, stdio: 'inherit' });
}

/** A stand-in for three members' admin endpoints: /n1/events, /n2/events, /n3/events. */
function fakeAdmin(): Promise<{ server: Server; url: string }> {
  let applied = 0;
  const server = createServer((request, response) => {
    const member = /^\/(n[123])\/events$/.exec(request.url ?? '')?.[1];
    if (member === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'access-control-allow-origin': '*' });
    const send = (): void => {
      applied += 40;
      const status = {
        member, role: member === 'n1' ? 'leader' : 'follower', leader: 'n1', ballot: '3.n1', decidedThrough: applied, appliedThrough: applied - 2,
        compactedThrough: 0, revision: applied, now: Date.now(),
        driver: { steps: applied, syncs: applied / 4, recordsPersisted: applied, applied, proposals: applied, reads: 0 },
        wal: { syncs: applied / 4, records: applied, lastSyncMs: 1.5, totalSyncMs: applied * 0.4 + (member === 'n2' ? applied * 0.2 : 0) },
      };
      response.write(`data: ${JSON.stringify(status)}\n\n`);
    };
    send();
    const timer = setInterval(send, 150);
    request.on('close', () => clearInterval(timer));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    resolve({ server, url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` });
  }));
}

describe('the lab in Chromium', { skip, timeout: 60_000 }, () => {
  let lab: LabServer;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    ensureBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    lab = await startLabServer({ port: 0, host: '127.0.0.1' });
    profile = mkdtempSync(join(tmpdir(), 'synod-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterEach(() => {
    assert.deepEqual(pageErrors.splice(0), [], 'the page threw');
  });

  after(async () => {
    await context?.close();
    await lab?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  const open = async (hash: string): Promise<void> => {
    // A fresh load each time: a hash change alone would keep the previous session in memory.
    await page.goto('about:blank');
    await page.goto(`${lab.url}#/${hash}`);
    await page.waitForSelector('main .view');
  };
  const shot = async (name: string): Promise<void> => {
    // Scrolled, a full-page screenshot would paint the sticky header mid-page.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };
  const clickNodes = async (nodes: readonly string[]): Promise<void> => {
    for (const node of nodes) await page.click(`svg [data-node="${node}"] circle`);
  };

  test('a Paxos round completes by clicks: chosen before anyone knows, then learned', async () => {
    await open('paxos');
    await clickNodes(['P1', 'A1', 'A2', 'P1', 'P1', 'A1']);
    assert.match(await page.innerText('.banner'), /Nothing is chosen/);
    await clickNodes(['A2']);
    const banner = await page.innerText('.banner');
    assert.match(banner, /blue is chosen/);
    assert.match(banner, /no learner knows/);
    await shot('paxos-point-of-no-return');
    await clickNodes(['L1', 'L1']);
    assert.match(await page.innerText('.banner'), /Learned by L1/);
    assert.match(await page.innerText('tr[data-node="L1"]'), /learned: blue/);
    await shot('paxos-decided');
  });

  test('crash a different acceptor and the remaining majority still decides', async () => {
    await open('paxos');
    await page.click('button:text-is("reset")');
    await page.click('tr[data-node="A3"] .restart');
    await page.click('tr[data-node="A1"] .crash');
    await clickNodes(['P1', 'A2', 'A3', 'P1', 'P1', 'A2', 'A3']);
    assert.match(await page.innerText('.banner'), /blue is chosen — A2 and A3 accepted it/);
    await shot('paxos-crashed-acceptor');
  });

  test('dueling proposers climb ballots under the adversary until a stable leader ends it', async () => {
    await page.click('button:text-is("reset")');
    await page.click('.propose-p1');
    await page.click('.propose-p2');
    for (let i = 0; i < 8; i += 1) await page.click('.adversary-10');
    assert.match(await page.innerText('.banner'), /Duel: ballots have climbed/);
    await shot('paxos-duel');
    await page.check('.stable-leader');
    for (let i = 0; i < 6; i += 1) await page.click('.adversary-10');
    assert.match(await page.innerText('.banner'), /is chosen/);
  });

  test('drop a message in the playground, then step back to before the drop', async () => {
    await open('playground');
    const ids = await page.$$eval('.network li[data-msg]', (items) => items.map((li) => li.getAttribute('data-msg')));
    assert.ok(ids.length >= 2, 'the default session has messages in flight');
    const first = ids[0] as string;
    const position = await page.innerText('.tl-pos');
    await page.click(`.network li[data-msg="${first}"] .drop`);
    assert.equal(await page.$(`.network li[data-msg="${first}"]`), null);
    await page.click('.tl-back');
    assert.ok(await page.$(`.network li[data-msg="${first}"]`), 'the dropped message is back in flight');
    const [at, total] = position.split(' / ').map(Number);
    assert.equal(at, total, 'the default session is shown at its end');
    assert.equal(await page.innerText('.tl-pos'), `${at} / ${(total ?? 0) + 1}`, 'back one step, with the drop still ahead');
  });

  test('a shared link reproduces the playground exactly, and a session exports as a test', async () => {
    await open('playground');
    await page.selectOption('.preset', 'lossy');
    await page.click('.run-preset');
    await page.click('.net-step');
    await page.click('.replica[data-node="n3"] .crash');
    await page.click('.run-preset');
    const state = async (p: Page): Promise<string> => [
      await p.innerText('.replicas'), await p.innerText('.network'), await p.innerText('.safety'), await p.innerText('.tl-pos'),
    ].join('\n---\n');
    const before = await state(page);
    assert.match(await page.innerText('.safety'), /Agreement/);
    await shot('playground');
    const link = page.url();
    assert.match(link, /#\/playground\?s=[A-Za-z0-9_-]+$/);
    const other = await context.newPage();
    other.on('pageerror', (error) => pageErrors.push(error.message));
    await other.goto(link);
    await other.waitForSelector('.replicas');
    assert.equal(await state(other), before);
    await other.close();

    // Through the tab, not a reload: the scenarios view shows the session just played.
    await page.click('#tabs [data-view="scenarios"]');
    assert.equal(await page.inputValue('.share-link'), link);
    assert.match(await page.innerText('.action-list'), /50 steps of "lossy"[\s\S]*crash n3/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.scenarios-view .export-test')]);
    const saved = join(ARTIFACTS, 'exported-scenario.test.ts.txt');
    await download.saveAs(saved);
    const source = readFileSync(saved, 'utf8');
    assert.match(download.suggestedFilename(), /\.test\.ts$/);
    assert.match(source, /replayPlayground/);
    await shot('scenarios');
  });

  test('the FLP explorer shows a bivalent initial configuration and the adversary keeps 20 steps bivalent', async () => {
    await open('flp');
    await page.waitForSelector('.initial[data-valency="bivalent"]');
    assert.match(await page.innerText('.lemma-found'), /Bivalent initial configuration/);
    assert.equal(await page.getAttribute('.current .badge', 'data-valency'), 'bivalent');
    await page.click('.adv-20');
    const steps = Number(await page.getAttribute('.run-status', 'data-bivalent-steps'));
    assert.ok(steps >= 20, `the run stayed bivalent for ${steps} steps`);
    assert.equal(await page.getAttribute('.current .badge', 'data-valency'), 'bivalent');
    await shot('flp');
    await page.selectOption('.protocol', 'paxos');
    await page.waitForSelector('.initial[data-inputs="100"][data-valency="bivalent"]');
    await page.click('.adv-1');
    await shot('flp-paxos');
  });

  test('the synchronous view shows f rounds failing and f+1 rounds agreeing', async () => {
    await open('sync');
    await page.click('.preset-f');
    assert.match(await page.innerText('.sync-view .banner'), /Agreement violated after 2 rounds/);
    await shot('sync-f-rounds');
    await page.click('.preset-f1');
    assert.match(await page.innerText('.sync-view .banner'), /✓ Agreement/);
    await shot('sync-f-plus-1-rounds');
  });

  test('the live view follows members\' status streams', async () => {
    const admin = await fakeAdmin();
    try {
      await open(`live?s=${encodeScenario({ endpoints: ['n1', 'n2', 'n3'].map((m) => `${admin.url}/${m}`) })}`);
      await page.waitForSelector('.live-card.leader');
      await page.waitForFunction('document.querySelectorAll(".chart polyline").length >= 6', undefined, { timeout: 10_000 });
      assert.match(await page.innerText('.live-card.leader'), /★ leader/);
      assert.equal(await page.innerText('.live-card.leader .leader-name'), 'n1');
      await shot('live');
      await open('paxos');
    } finally {
      admin.server.closeAllConnections();
      await new Promise((resolve) => admin.server.close(resolve));
    }
  });

  test('on a phone-sized screen the views still fit', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await open('paxos');
    await shot('phone-paxos');
    await open('playground');
    await shot('phone-playground');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the screen`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
