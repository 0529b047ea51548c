/**
 * The proxied network of a chaos cluster: one FaultProxy per ordered pair of
 * members (proxy.ts), and the partitions a nemesis asks for expressed as
 * faults on those directed links.
 */
import type { Random } from '../core/random.js';
import { FaultProxy, HEALTHY_LINK, type LinkBlock, type LinkFaults, type ProxyCounters } from './proxy.js';

export class ProxyMesh {
  private readonly proxies = new Map<string, FaultProxy>();

  private constructor(readonly names: readonly string[]) {}

  /**
   * Opens a proxy for every ordered pair (from, to), forwarding to `to`'s real
   * peer port. Listening first means the ports are known before any node starts.
   */
  static async open(members: readonly { name: string; peerPort: number }[], random: Random): Promise<ProxyMesh> {
    const mesh = new ProxyMesh(members.map((m) => m.name));
    for (const from of members) {
      for (const to of members) {
        if (from.name === to.name) continue;
        const proxy = new FaultProxy(`${from.name}->${to.name}`, to.peerPort, random.fork());
        await proxy.listen();
        mesh.proxies.set(key(from.name, to.name), proxy);
      }
    }
    return mesh;
  }

  /** The port node `from` dials to reach node `to`. */
  portFor(from: string, to: string): number {
    return this.proxy(from, to).port;
  }

  proxy(from: string, to: string): FaultProxy {
    const proxy = this.proxies.get(key(from, to));
    if (proxy === undefined) throw new Error(`no proxy ${from}->${to}`);
    return proxy;
  }

  /** Every link passes again. */
  heal(): void {
    for (const proxy of this.proxies.values()) proxy.heal();
  }

  /** Nodes in different groups cannot reach each other in either direction; nodes in no group are untouched. */
  partition(groups: readonly (readonly string[])[], block: LinkBlock): void {
    const groupOf = new Map<string, number>();
    groups.forEach((group, index) => group.forEach((name) => groupOf.set(name, index)));
    for (const proxy of this.proxies.values()) {
      const [from, to] = proxy.label.split('->') as [string, string];
      const a = groupOf.get(from);
      const b = groupOf.get(to);
      if (a !== undefined && b !== undefined && a !== b) proxy.set({ ...proxy.faults, block });
    }
  }

  /** Messages from `from` to each of `to` are lost; the reverse direction still works. */
  cut(from: string, to: readonly string[], block: LinkBlock): void {
    for (const target of to) {
      const proxy = this.proxy(from, target);
      proxy.set({ ...proxy.faults, block });
    }
  }

  /** Applies `faults` to every link (slow or lossy network). */
  setAll(faults: LinkFaults): void {
    for (const proxy of this.proxies.values()) proxy.set(faults);
  }

  /** Sum of every proxy's counters. */
  counters(): ProxyCounters {
    const total: ProxyCounters = { connections: 0, resets: 0, framesForwarded: 0, framesDropped: 0, framesSwallowed: 0, bytesForwarded: 0 };
    for (const proxy of this.proxies.values()) {
      for (const name of Object.keys(total) as (keyof ProxyCounters)[]) total[name] += proxy.counters[name];
    }
    return total;
  }

  /** Links not in the healthy state, e.g. "n1->n2 blackhole", for progress lines. */
  describe(): string[] {
    const lines: string[] = [];
    for (const proxy of this.proxies.values()) {
      const f = proxy.faults;
      if (f === HEALTHY_LINK) continue;
      const parts = [f.block !== 'none' ? f.block : '', f.delayMs > 0 ? `+${f.delayMs}ms` : '', f.dropProbability > 0 ? `drop ${f.dropProbability}` : ''];
      const text = parts.filter((p) => p !== '').join(' ');
      if (text !== '') lines.push(`${proxy.label} ${text}`);
    }
    return lines;
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
  }
}

function key(from: string, to: string): string {
  return `${from}->${to}`;
}

