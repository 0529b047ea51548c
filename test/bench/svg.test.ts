// The chart is well-formed SVG with one marker per measured point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, linearTicks, renderChart, type ChartPoint } from '../../src/bench/svg.js';

/** A small XML well-formedness check: every tag closes in order, attributes are quoted, text has no raw '<' or bare '&'. */
function assertWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let consumed = 0;
  for (let match = token.exec(body); match !== null; match = token.exec(body)) {
    consumed = token.lastIndex;
    const [, closing, name, , selfClosing, text] = match;
    if (text !== undefined) {
      assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(text), `bare & in text: ${text}`);
      continue;
    }
    if (closing === '/') assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (selfClosing !== '/') stack.push(name as string);
  }
  assert.equal(consumed, body.length, `unparseable from: ${body.slice(consumed, consumed + 80)}`);
  assert.deepEqual(stack, [], 'unclosed elements');
}

const points: ChartPoint[] = [
  { system: 'synod', workload: 'put', concurrency: 1, opsPerSecond: 300, p99Ms: 9.5 },
  { system: 'synod', workload: 'put', concurrency: 64, opsPerSecond: 2100, p99Ms: 140 },
  { system: 'etcd', workload: 'put', concurrency: 1, opsPerSecond: 1000, p99Ms: 2.9 },
  { system: 'etcd', workload: 'put', concurrency: 64, opsPerSecond: 6000, p99Ms: 30 },
  { system: 'synod', workload: 'get', concurrency: 1, opsPerSecond: 2000, p99Ms: 0.8 },
  { system: 'etcd', workload: 'get', concurrency: 1, opsPerSecond: 1900, p99Ms: 0.9 },
];

test('the chart is well-formed SVG with a circle per point, a panel per workload and escaped text', () => {
  const svg = renderChart(points, 'synod <vs> etcd & friends');
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assertWellFormed(svg);
  assert.equal((svg.match(/<circle /g) ?? []).length, points.length);
  assert.equal((svg.match(/class="panel"/g) ?? []).length, 2);
  assert.match(svg, /synod &lt;vs&gt; etcd &amp; friends/);
  for (const p of points) {
    assert.ok(svg.includes(`data-system="${p.system}" data-concurrency="${p.concurrency}"`), `no marker for ${p.system} ${p.workload} ${p.concurrency}`);
    assert.ok(svg.includes(`${Math.round(p.opsPerSecond)} ops/s`), 'each marker names its throughput');
  }
  // Markers stay inside the drawing.
  for (const m of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
    assert.ok(Number(m[1]) >= 0 && Number(m[1]) <= 1140 && Number(m[2]) >= 0 && Number(m[2]) <= 330, `marker at ${m[1]},${m[2]} is off the canvas`);
  }
});

test('a chart with no measured points is still valid SVG', () => {
  assertWellFormed(renderChart([], 'empty'));
  assertWellFormed(renderChart([{ system: 'synod', workload: 'lock', concurrency: 1, opsPerSecond: 0, p99Ms: 0 }], 'skipped'));
});

test('axis ticks are round numbers covering the range', () => {
  assert.deepEqual(linearTicks(1000), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(linearTicks(0), [0]);
  assert.equal(escapeXml(`a<b>&"'`), 'a&lt;b&gt;&amp;&quot;&apos;');
});
