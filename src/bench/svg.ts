/**
 * The benchmark's chart, as a hand-written SVG string: one panel per
 * workload, throughput (ops/s, linear) across and p99 latency (ms, log scale)
 * up, one line per system through its concurrency levels, each point labelled
 * with its concurrency. Up and to the left is better; a knee shows where
 * adding clients stops adding throughput and only adds queueing.
 */

export interface ChartPoint {
  readonly system: string;
  readonly workload: string;
  readonly concurrency: number;
  readonly opsPerSecond: number;
  readonly p99Ms: number;
}

const PANEL_WIDTH = 380;
const PANEL_HEIGHT = 270;
const MARGIN = { left: 58, right: 16, top: 28, bottom: 40 };
const COLUMNS = 3;
const COLORS: Readonly<Record<string, string>> = { synod: '#1f6fb4', etcd: '#d0402b', 'grpc-noop': '#6b6b6b' };
const FALLBACK_COLORS = ['#2ca02c', '#9467bd', '#8c564b'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** About `count` round tick values covering [0, max]. */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let t = 0; t <= max * 1.0001; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatCount(value: number): string {
  if (value >= 1000) return `${fmt(value / 1000)}k`;
  return fmt(value);
}

function formatMs(value: number): string {
  if (value >= 1) return `${Number(value.toPrecision(3))}`;
  return `${Number(value.toPrecision(2))}`;
}

export function renderChart(points: readonly ChartPoint[], title: string): string {
  const workloads = [...new Set(points.map((p) => p.workload))];
  const systems = [...new Set(points.map((p) => p.system))];
  const colorOf = (system: string): string => COLORS[system] ?? FALLBACK_COLORS[systems.indexOf(system) % FALLBACK_COLORS.length] ?? '#000';
  const columns = Math.max(1, Math.min(COLUMNS, workloads.length));
  const rows = Math.max(1, Math.ceil(workloads.length / columns));
  const width = columns * PANEL_WIDTH;
  const height = rows * PANEL_HEIGHT + 60;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  // Legend.
  systems.forEach((system, i) => {
    const x = 16 + i * 110;
    out.push(`<g class="legend"><rect x="${x}" y="32" width="12" height="12" fill="${colorOf(system)}"/><text x="${x + 17}" y="42">${escapeXml(system)}</text></g>`);
  });
  workloads.forEach((name, index) => {
    const panelX = (index % columns) * PANEL_WIDTH;
    const panelY = 60 + Math.floor(index / columns) * PANEL_HEIGHT;
    out.push(renderPanel(points.filter((p) => p.workload === name), name, panelX, panelY, colorOf));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function renderPanel(points: readonly ChartPoint[], workload: string, panelX: number, panelY: number, colorOf: (system: string) => string): string {
  const plotted = points.filter((p) => p.opsPerSecond > 0 && p.p99Ms > 0);
  const x0 = panelX + MARGIN.left;
  const y0 = panelY + MARGIN.top;
  const w = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const h = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const out: string[] = [`<g class="panel" data-workload="${escapeXml(workload)}">`];
  out.push(`<text x="${x0 + w / 2}" y="${panelY + 16}" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(workload)}</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  const maxOps = Math.max(1, ...plotted.map((p) => p.opsPerSecond)) * 1.08;
  const lowMs = Math.min(...plotted.map((p) => p.p99Ms), 1);
  const highMs = Math.max(...plotted.map((p) => p.p99Ms), 1);
  const logLow = Math.floor(Math.log10(lowMs));
  const logHigh = Math.max(logLow + 1, Math.ceil(Math.log10(highMs)));
  const sx = (ops: number): number => x0 + (ops / maxOps) * w;
  const sy = (ms: number): number => y0 + h - ((Math.log10(ms) - logLow) / (logHigh - logLow)) * h;
  for (const tick of linearTicks(maxOps / 1.08)) {
    const x = sx(tick);
    out.push(`<line x1="${x.toFixed(1)}" y1="${y0 + h}" x2="${x.toFixed(1)}" y2="${y0 + h + 4}" stroke="#666"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${y0 + h + 15}" text-anchor="middle">${formatCount(tick)}</text>`);
  }
  for (let e = logLow; e <= logHigh; e += 1) {
    const ms = 10 ** e;
    const y = sy(ms);
    out.push(`<line x1="${x0}" y1="${y.toFixed(1)}" x2="${x0 + w}" y2="${y.toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x0 - 5}" y="${(y + 4).toFixed(1)}" text-anchor="end">${formatMs(ms)}</text>`);
  }
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 32}" text-anchor="middle">throughput (ops/s)</text>`);
  out.push(`<text x="${panelX + 14}" y="${y0 + h / 2}" text-anchor="middle" transform="rotate(-90 ${panelX + 14} ${y0 + h / 2})">p99 latency (ms, log)</text>`);
  for (const system of [...new Set(plotted.map((p) => p.system))]) {
    const series = plotted.filter((p) => p.system === system).sort((a, b) => a.concurrency - b.concurrency);
    const color = colorOf(system);
    const path = series.map((p) => `${sx(p.opsPerSecond).toFixed(1)},${sy(p.p99Ms).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    for (const p of series) {
      const x = sx(p.opsPerSecond).toFixed(1);
      const y = sy(p.p99Ms).toFixed(1);
      const label = `${system} ${workload} c=${p.concurrency}: ${Math.round(p.opsPerSecond)} ops/s, p99 ${p.p99Ms.toFixed(2)} ms`;
      out.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="${color}" data-system="${escapeXml(system)}" data-concurrency="${p.concurrency}"><title>${escapeXml(label)}</title></circle>`);
      out.push(`<text x="${(Number(x) + 5).toFixed(1)}" y="${(Number(y) - 5).toFixed(1)}" fill="${color}" font-size="10">${p.concurrency}</text>`);
    }
  }
  out.push('</g>');
  return out.join('\n');
}
