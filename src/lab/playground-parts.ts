/** The pieces of the playground view: replica cards with their logs, the network, the clients, the safety panel. */
import { formatBallot } from '../core/ballot.js';
import type { KvInput } from '../check/history.js';
import type { Playground, SafetyReport } from '../explore/lab/playground.js';
import type { PlaygroundAction } from '../explore/lab/playground-scenario.js';
import { button, h, select, svg } from './dom.js';

type Act = (action: PlaygroundAction) => void;

export function safetyPanel(safety: SafetyReport): HTMLElement {
  const lin = safety.linearizability;
  const conflicts = safety.agreement.conflicts;
  return h('div', { class: `safety ${safety.ok ? 'ok' : 'broken'}`, attrs: { 'aria-live': 'polite' } },
    h('div', { class: `check ${safety.agreement.ok ? 'ok' : 'bad'}`, dataset: { check: 'agreement' } },
      h('strong', {}, safety.agreement.ok ? '✓ Agreement' : '✗ Agreement violated'),
      safety.agreement.ok
        ? ' — every slot holds one value on every replica that applied it.'
        : h('ul', {}, conflicts.map((c) => h('li', {}, `slot ${c.slot}: `, c.values.map((v) => `${v.nodes.join(',')} applied "${v.value}"`).join(' vs '))))),
    h('div', { class: `check ${lin.kind === 'violation' ? 'bad' : 'ok'}`, dataset: { check: 'linearizability' } },
      h('strong', {}, lin.kind === 'violation' ? '✗ Not linearizable' : lin.kind === 'unknown' ? '? Linearizability unknown' : '✓ Linearizable'),
      lin.kind === 'violation' ? ` — key ${lin.key}: ${lin.explanation}` : lin.kind === 'unknown' ? ` — ${lin.reason}` : ' — the clients\' history has a legal sequential order.'),
    safety.invariant === null ? null : h('div', { class: 'check bad' }, h('strong', {}, '✗ Assertion'), ` — ${safety.invariant}`));
}

export function replicaCards(pg: Playground, safety: SafetyReport, act: Act): HTMLElement {
  const badSlots = new Set(safety.agreement.conflicts.map((c) => c.slot));
  return h('div', { class: 'replicas' }, pg.nodes.map((node) => {
    const up = pg.isUp(node);
    const status = pg.status(node);
    const leader = up && status.role === 'leader';
    const log = pg.log(node);
    return h('article', { class: `replica ${up ? status.role : 'down'}`, dataset: { node } },
      h('header', {},
        h('strong', {}, node), ' ',
        h('span', { class: `role-tag ${up ? status.role : 'down'}` }, up ? (leader ? '★ leader' : status.role) : 'down'),
        h('div', { class: 'muted small-text' },
          `ballot ${formatBallot(status.ballot)} · leader ${status.leader ?? '?'} · decided ≤ ${status.decidedThrough} · applied ≤ ${status.appliedThrough}`,
          status.compactedThrough > 0 ? ` · snapshot ≤ ${status.compactedThrough}` : '')),
      h('div', { class: 'replica-actions' },
        up ? button('crash', () => act({ t: 'crash', node }), { class: 'crash small' }) : button('restart', () => act({ t: 'restart', node }), { class: 'restart small' }),
        button('campaign', () => act({ t: 'campaign', node }), { class: 'campaign small', disabled: !up || leader, title: 'Start phase 1 now instead of waiting for a timeout' }),
        button('compact', () => act({ t: 'compact', node }), { class: 'compact small', disabled: !up, title: 'Snapshot the state machine and forget the applied log' })),
      log.length === 0 ? h('p', { class: 'muted small-text' }, 'empty log') : h('table', { class: 'log' },
        h('tr', {}, h('th', {}, 'slot'), h('th', {}, 'ballot'), h('th', {}, 'command')),
        log.map((entry) => h('tr', { class: `${entry.state}${badSlots.has(entry.slot) ? ' conflict' : ''}${entry.text === 'no-op' ? ' noop' : ''}`, dataset: { slot: String(entry.slot) } },
          h('td', {}, String(entry.slot)),
          h('td', {}, entry.ballot ?? ''),
          h('td', { title: entry.state === 'chosen' ? 'chosen (decided)' : 'accepted, not known chosen' }, entry.state === 'chosen' ? '✓ ' : '… ', entry.text)))));
  }));
}

export function messageList(pg: Playground, act: Act): HTMLElement {
  const messages = pg.messages();
  return h('div', { class: 'panel network' },
    h('h3', {}, `In flight (${messages.length})`, pg.cutLinks.length > 0 ? h('span', { class: 'bad small-text' }, ` · cut: ${pg.cutLinks.map((l) => l.replace('>', '↛')).join(' ')}`) : ''),
    messages.length === 0 ? h('p', { class: 'muted' }, 'Nothing in flight. Tick the clocks to make leaders send heartbeats and followers time out.') :
      h('ul', { class: 'msg-list' }, messages.slice(0, 60).map((m) => h('li', { class: `${m.cut ? 'cut' : ''}${m.delayed ? ' delayed' : ''}`, dataset: { msg: String(m.id) } },
        h('code', {}, `#${m.id}`), ` ${m.from}→${m.to} `, h('span', { class: `mtype mtype-${m.type}` }, m.summary), ' ',
        button('deliver', () => act({ t: 'deliver', id: m.id }), { class: 'deliver small', title: m.cut ? 'the link is cut: it will be lost' : 'deliver now' }),
        button('drop', () => act({ t: 'drop', id: m.id }), { class: 'drop small' }),
        button('dup', () => act({ t: 'duplicate', id: m.id }), { class: 'duplicate small', title: 'duplicate' }),
        button('delay', () => act({ t: 'delay', id: m.id }), { class: 'delay small', title: 'move behind everything in flight' })))),
    messages.length > 60 ? h('p', { class: 'muted' }, `… and ${messages.length - 60} more`) : null);
}

export function topology(pg: Playground): SVGElement {
  const n = pg.nodes.length;
  const at = (i: number): [number, number] => [150 + 105 * Math.sin((2 * Math.PI * i) / n), 125 - 100 * Math.cos((2 * Math.PI * i) / n)];
  const counts = new Map<string, number>();
  for (const m of pg.messages()) counts.set(`${m.from}>${m.to}`, (counts.get(`${m.from}>${m.to}`) ?? 0) + 1);
  const edges: SVGElement[] = [];
  pg.nodes.forEach((a, i) => pg.nodes.forEach((b, j) => {
    if (j <= i) return;
    const [x1, y1] = at(i);
    const [x2, y2] = at(j);
    const cutAB = pg.isCut(a, b);
    const cutBA = pg.isCut(b, a);
    const busy = (counts.get(`${a}>${b}`) ?? 0) + (counts.get(`${b}>${a}`) ?? 0);
    edges.push(svg('line', { x1, y1, x2, y2, class: `edge${cutAB && cutBA ? ' cut' : cutAB || cutBA ? ' half-cut' : ''}${busy > 0 ? ' busy' : ''}` }));
    if (busy > 0) edges.push(svg('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 3, class: 'edge-count' }, String(busy)));
  }));
  const leader = pg.leader();
  const nodes = pg.nodes.map((node, i) => {
    const [x, y] = at(i);
    const up = pg.isUp(node);
    return svg('g', { class: `topo-node${up ? '' : ' down'}${node === leader ? ' leader' : ''}` },
      svg('circle', { cx: x, cy: y, r: 19 }), svg('text', { x, y: y + 5 }, node));
  });
  return svg('svg', { viewBox: '0 0 300 250', class: 'topology', role: 'img', 'aria-label': 'Replicas and links' }, edges, nodes);
}

export function clientPanel(pg: Playground, act: Act): HTMLElement {
  const up = pg.nodes.filter((n) => pg.isUp(n));
  const preferred = pg.leader() ?? up[0] ?? pg.nodes[0] ?? 'n1';
  return h('div', { class: 'panel clients' }, h('h3', {}, 'Clients'), pg.clientViews().map((client) => {
    let kind: KvInput['kind'] = 'put';
    let via = preferred;
    const key = h('input', { value: 'x', class: 'key', attrs: { size: '3', 'aria-label': 'key' } });
    const value = h('input', { value: String(1 + (pg.history().length % 9)), class: 'value', attrs: { size: '3', 'aria-label': 'value' } });
    const expected = h('input', { value: '', class: 'expected', attrs: { size: '3', placeholder: '∅', 'aria-label': 'expected value (cas)' } });
    const send = (): void => {
      const k = key.value.trim() || 'x';
      const op: KvInput = kind === 'get' ? { kind, key: k }
        : kind === 'put' ? { kind, key: k, value: value.value }
        : { kind, key: k, expected: expected.value === '' ? null : expected.value, value: value.value };
      act({ t: 'op', client: client.name, node: via, op });
    };
    return h('div', { class: 'client', dataset: { client: client.name } },
      h('strong', {}, client.name), client.session !== client.name ? h('span', { class: 'muted' }, ` (session ${client.session})`) : '', ' ',
      select([['put', 'put'], ['get', 'get'], ['cas', 'cas']] as const, kind, (k) => { kind = k; }, { class: 'kind', attrs: { 'aria-label': 'operation' } }),
      key, ' = ', value, ' if ', expected, ' via ',
      select(pg.nodes.map((n) => [n, n] as const), via, (n) => { via = n; }, { class: 'via', attrs: { 'aria-label': 'replica' } }),
      button('send', send, { class: 'send small', disabled: up.length === 0 }),
      client.pending === null ? null : h('div', { class: 'pending' },
        `waiting: ${client.pending.op} via ${client.pending.node}`, client.pending.dropped === null ? '' : h('span', { class: 'bad' }, ` (turned away: ${client.pending.dropped})`), ' ',
        button(`retry via ${preferred}`, () => act({ t: 'retry', client: client.name, node: preferred }), { class: 'retry small', disabled: !pg.isUp(preferred) })),
      client.last === null ? null : h('div', { class: 'muted small-text' }, `last: ${client.last.op} → ${client.last.output}`));
  }), h('p', { class: 'muted small-text' }, `History: ${pg.history().length} operations, ${pg.history().filter((o) => o.output !== undefined).length} answered. Sending while an operation is pending abandons it (it stays "unknown" in the history).`));
}
