/**
 * The guard against amnesia. A member whose data directory is wiped and that is
 * restarted under its old identity has forgotten every promise and vote it made;
 * letting it vote again could let two values be chosen for one slot. Each data
 * directory gets a random incarnation when it is created (member.json), sent in
 * every peer handshake. Every member remembers, durably, the first incarnation
 * it saw from each peer and refuses connections that carry another: the wiped
 * member can still receive, but nothing it says reaches anyone who knew it, so
 * it can never be counted. The way back is the one etcd documents: remove the
 * member and add it again (a new member starts with nothing to forget).
 *
 * When a member leaves the configuration its entry is forgotten, so the same
 * id added back later (a peer URL reused) starts afresh.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NodeId } from '../core/ids.js';
import { readJsonFile, writeJsonFileDurably } from './json-file.js';

const FILE = 'peers.json';

export class IncarnationBook {
  private readonly known: Map<NodeId, string>;
  private readonly refused = new Set<string>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dataDir: string,
    known: Map<NodeId, string>,
    private readonly logger: Logger,
  ) {
    this.known = known;
  }

  static async open(dataDir: string, logger: Logger): Promise<IncarnationBook> {
    const path = join(dataDir, FILE);
    const known = new Map<NodeId, string>();
    const parsed = await readJsonFile(path, "records the peers' data-directory incarnations");
    if (parsed !== undefined) {
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${path} is malformed`);
      for (const [peer, incarnation] of Object.entries(parsed as Record<string, unknown>)) {
        if (typeof incarnation !== 'string') throw new Error(`${path}: the incarnation of ${peer} is not a string`);
        known.set(peer as NodeId, incarnation);
      }
    }
    return new IncarnationBook(dataDir, known, logger);
  }

  /** Why `peer` may not connect with `incarnation`, or null if it may (and is now known by it). */
  admit(peer: NodeId, incarnation: string): string | null {
    if (incarnation === '') return `${peer} sent no data-directory incarnation`;
    const known = this.known.get(peer);
    if (known === undefined) {
      this.known.set(peer, incarnation);
      this.save();
      return null;
    }
    if (known === incarnation) return null;
    const reason =
      `member ${peer} came back with a new data directory (incarnation ${incarnation}, this node knew ${known}): ` +
      'it has lost its promises and votes, so it may not take part; remove it (etcdctl member remove) and add it again as a new member';
    if (!this.refused.has(`${peer}/${incarnation}`)) {
      this.refused.add(`${peer}/${incarnation}`);
      this.logger.error({ peer, incarnation, known }, 'refusing a member whose data directory was replaced');
    }
    return reason;
  }

  /** Forgets every peer not in `members` (they left the configuration). */
  retain(members: ReadonlySet<NodeId>): void {
    let changed = false;
    for (const peer of this.known.keys()) {
      if (!members.has(peer)) {
        this.known.delete(peer);
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** Waits for the last save to reach the disk. */
  flush(): Promise<void> {
    return this.writing;
  }

  private save(): void {
    const snapshot = Object.fromEntries(this.known);
    const path = join(this.dataDir, FILE);
    this.writing = this.writing
      .then(() => writeJsonFileDurably(path, snapshot))
      .catch((error: unknown) => this.logger.error({ err: error, path }, 'cannot record peer incarnations'));
  }
}
