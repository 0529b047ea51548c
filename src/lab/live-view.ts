/**
 * View 6: a live cluster. Each member's admin endpoint streams its status as
 * server-sent events (GET /events, see src/server/admin.ts); this view shows
 * who leads, in which ballot, how far each member has decided and applied, and
 * charts throughput (commands applied per second) and fsync latency over time.
 */
import { decodeScenario, encodeScenario } from '../explore/lab/codec.js';
import { button, fill, h, svg } from './dom.js';
import { stateChanged, type View } from './view.js';

export const DEFAULT_ENDPOINTS = ['http://127.0.0.1:2381', 'http://127.0.0.1:22381', 'http://127.0.0.1:32381'];
const WINDOW_MS = 120_000;

/** The fields of the admin status this view reads; everything else is ignored. */
interface MemberStatus {
  readonly member: string;
  readonly role: string;
  readonly leader: string | null;
  readonly ballot: string;
  readonly decidedThrough: number;
  readonly appliedThrough: number;
  readonly revision: number;
  readonly now: number;
  readonly driver: { readonly applied: number; readonly proposals: number; readonly reads: number };
  readonly wal: { readonly syncs: number; readonly totalSyncMs: number };
}

interface Sample {
  readonly at: number;
  readonly throughput: number;
  readonly fsyncMs: number;
}

interface Member {
  readonly endpoint: string;
  source: EventSource | null;
  connection: 'connecting' | 'live' | 'error';
  status: MemberStatus | null;
  samples: Sample[];
}

function parseStatus(data: string): MemberStatus | null {
  try {
    const v = JSON.parse(data) as Partial<MemberStatus>;
    if (typeof v.member !== 'string' || typeof v.role !== 'string' || typeof v.decidedThrough !== 'number') return null;
    return {
      member: v.member, role: v.role, leader: v.leader ?? null, ballot: String(v.ballot ?? ''),
      decidedThrough: v.decidedThrough, appliedThrough: Number(v.appliedThrough ?? 0), revision: Number(v.revision ?? 0),
      now: Number(v.now ?? Date.now()),
      driver: { applied: Number(v.driver?.applied ?? 0), proposals: Number(v.driver?.proposals ?? 0), reads: Number(v.driver?.reads ?? 0) },
      wal: { syncs: Number(v.wal?.syncs ?? 0), totalSyncMs: Number(v.wal?.totalSyncMs ?? 0) },
    };
  } catch {
    return null;
  }
}

const COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#0891b2', '#be123c', '#854d0e'];

export function createLiveView(): View {
  let endpoints = [...DEFAULT_ENDPOINTS];
  let members: Member[] = [];
  let visible = false;
  let loaded: string | null = null;
  const element = h('section', { class: 'view live-view' });
  const form = h('div', { class: 'toolbar' });
  const cards = h('div', { class: 'live-cards' });
  const charts = h('div', { class: 'panel' });
  fill(element,
    h('p', { class: 'intro' },
      'Start a cluster with ', h('code', {}, 'synod up'), ' and watch it here. Each member\'s admin endpoint streams its status twice a second: role, leader, ballot, ',
      'the slots decided and applied, and counters from which the charts derive throughput and fsync latency.'),
    form, cards, charts);

  function connect(): void {
    disconnect();
    members = endpoints.map((endpoint) => ({ endpoint, source: null, connection: 'connecting', status: null, samples: [] }));
    for (const member of members) {
      const source = new EventSource(`${member.endpoint.replace(/\/+$/, '')}/events`);
      member.source = source;
      source.onopen = () => { member.connection = 'live'; render(); };
      source.onerror = () => { member.connection = 'error'; render(); };
      source.onmessage = (event: MessageEvent<string>) => {
        const status = parseStatus(event.data);
        if (status === null) return;
        const previous = member.status;
        if (previous !== null && status.now > previous.now) {
          const seconds = (status.now - previous.now) / 1000;
          const syncs = status.wal.syncs - previous.wal.syncs;
          member.samples.push({
            at: status.now,
            throughput: Math.max(0, (status.driver.applied - previous.driver.applied) / seconds),
            fsyncMs: syncs > 0 ? (status.wal.totalSyncMs - previous.wal.totalSyncMs) / syncs : member.samples.at(-1)?.fsyncMs ?? 0,
          });
          member.samples = member.samples.filter((s) => s.at >= status.now - WINDOW_MS);
        }
        member.status = status;
        member.connection = 'live';
        render();
      };
    }
    render();
  }

  function disconnect(): void {
    for (const member of members) member.source?.close();
    members = [];
  }

  function renderForm(): void {
    const inputs = endpoints.map((e, i) => h('input', { value: e, class: 'endpoint', attrs: { 'aria-label': `admin endpoint ${i + 1}`, size: '24' } }));
    fill(form, inputs,
      button('connect', () => { endpoints = inputs.map((i) => i.value.trim()).filter((v) => v.length > 0); renderForm(); connect(); stateChanged(); }, { class: 'connect' }),
      button('disconnect', () => { disconnect(); render(); }, { class: 'ghost' }));
  }

  function chart(title: string, unit: string, pick: (s: Sample) => number): HTMLElement {
    const times = members.flatMap((m) => m.samples.map((s) => s.at));
    const now = Math.max(0, ...times);
    // Until two minutes of samples exist, the axis spans what there is (at least ten seconds).
    const span = Math.min(WINDOW_MS, Math.max(10_000, now - Math.min(now, ...times)));
    const max = Math.max(1e-9, ...members.flatMap((m) => m.samples.map(pick)));
    const [width, height] = [600, 140];
    const x = (at: number): number => 40 + ((at - (now - span)) / span) * (width - 50);
    const y = (v: number): number => height - 20 - (v / max) * (height - 35);
    return h('figure', { class: 'chart' },
      h('figcaption', {}, `${title} (max ${max.toFixed(max < 10 ? 1 : 0)} ${unit})`),
      svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title },
        svg('line', { x1: 40, y1: height - 20, x2: width - 10, y2: height - 20, class: 'axis' }),
        svg('text', { x: 36, y: y(max) + 4, class: 'axis-label', 'text-anchor': 'end' }, max.toFixed(max < 10 ? 1 : 0)),
        svg('text', { x: 36, y: height - 16, class: 'axis-label', 'text-anchor': 'end' }, '0'),
        svg('text', { x: width - 10, y: height - 4, class: 'axis-label', 'text-anchor': 'end' }, 'now'),
        svg('text', { x: 40, y: height - 4, class: 'axis-label' }, `−${Math.round(span / 1000)}s`),
        members.map((m, i) => m.samples.length < 2 ? null : svg('polyline', {
          points: m.samples.map((s) => `${x(s.at).toFixed(1)},${y(pick(s)).toFixed(1)}`).join(' '),
          class: 'series', stroke: COLORS[i % COLORS.length] ?? '#000',
        }))),
      h('div', { class: 'legend small-text' }, members.map((m, i) => h('span', {}, h('span', { class: 'swatch', attrs: { style: `background:${COLORS[i % COLORS.length] ?? '#000'}` } }), ` ${m.status?.member ?? m.endpoint} `))));
  }

  function render(): void {
    if (!visible) return;
    const leaders = new Set(members.map((m) => m.status?.leader).filter((l): l is string => typeof l === 'string'));
    fill(cards,
      members.length === 0 ? h('p', { class: 'muted' }, 'Not connected.') : null,
      leaders.size > 1 ? h('p', { class: 'bad' }, `Members disagree on the leader: ${[...leaders].join(', ')} (normal for a moment during an election).`) : null,
      members.map((m) => {
        const s = m.status;
        const last = m.samples.at(-1);
        return h('article', { class: `live-card ${m.connection}${s?.role === 'leader' ? ' leader' : ''}`, dataset: { endpoint: m.endpoint } },
          h('header', {}, h('strong', {}, s?.member ?? m.endpoint), ' ', h('span', { class: `role-tag ${s?.role ?? 'down'}` }, s === null ? m.connection : s.role === 'leader' ? '★ leader' : s.role)),
          s === null ? h('p', { class: 'muted small-text' }, m.connection === 'error' ? `cannot reach ${m.endpoint}/events` : 'connecting…') : h('dl', { class: 'facts' },
            h('dt', {}, 'leader'), h('dd', { class: 'leader-name' }, s.leader ?? '—'),
            h('dt', {}, 'ballot'), h('dd', {}, s.ballot),
            h('dt', {}, 'decided ≤'), h('dd', {}, String(s.decidedThrough)),
            h('dt', {}, 'applied ≤'), h('dd', {}, String(s.appliedThrough)),
            h('dt', {}, 'revision'), h('dd', {}, String(s.revision)),
            h('dt', {}, 'throughput'), h('dd', {}, last === undefined ? '—' : `${last.throughput.toFixed(1)} cmd/s`),
            h('dt', {}, 'fsync'), h('dd', {}, last === undefined ? '—' : `${last.fsyncMs.toFixed(2)} ms`)));
      }));
    fill(charts, chart('Throughput: commands applied per second', 'cmd/s', (s) => s.throughput), chart('fsync latency', 'ms', (s) => s.fsyncMs));
  }

  const view: View = {
    id: 'live',
    title: 'Live cluster',
    element,
    show(state) {
      visible = true;
      if (state !== null && state !== loaded) {
        const v = decodeScenario(state) as { endpoints?: unknown } | undefined;
        if (Array.isArray(v?.endpoints) && v.endpoints.every((e) => typeof e === 'string' && /^https?:\/\//.test(e))) endpoints = v.endpoints as string[];
      }
      loaded = state;
      renderForm();
      if (members.length === 0) connect();
      render();
    },
    hide() {
      visible = false;
      disconnect();
    },
    state: () => (endpoints.join() === DEFAULT_ENDPOINTS.join() ? null : encodeScenario({ endpoints })),
  };
  return view;
}
