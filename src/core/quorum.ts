/**
 * Quorum systems. Paxos needs only that every phase-1 quorum intersects every
 * phase-2 quorum (Flexible Paxos); majorities are the classic case where both
 * phases use the same sets. The interface keeps the two phases apart so other
 * systems (flexible, grid, weighted) can be added without touching the roles.
 */
import { assert } from './assert.js';
import type { NodeId } from './ids.js';

export interface QuorumSystem {
  /** The voting members, in a stable order. */
  readonly members: readonly NodeId[];
  /** True when `voters` contains a phase-1 (prepare/promise) quorum. */
  isPhase1Quorum(voters: ReadonlySet<NodeId>): boolean;
  /** True when `voters` contains a phase-2 (accept/accepted) quorum. */
  isPhase2Quorum(voters: ReadonlySet<NodeId>): boolean;
}

export class MajorityQuorum implements QuorumSystem {
  readonly members: readonly NodeId[];
  private readonly memberSet: ReadonlySet<NodeId>;

  constructor(members: readonly NodeId[]) {
    assert(members.length > 0, 'a quorum system needs at least one member');
    this.memberSet = new Set(members);
    assert(this.memberSet.size === members.length, () => `duplicate member in ${members.join(',')}`);
    this.members = [...members];
  }

  /** How many members make a majority: floor(n/2) + 1. */
  get size(): number {
    return Math.floor(this.members.length / 2) + 1;
  }

  isPhase1Quorum(voters: ReadonlySet<NodeId>): boolean {
    return this.countMembers(voters) >= this.size;
  }

  isPhase2Quorum(voters: ReadonlySet<NodeId>): boolean {
    return this.countMembers(voters) >= this.size;
  }

  private countMembers(voters: ReadonlySet<NodeId>): number {
    let count = 0;
    for (const voter of voters) if (this.memberSet.has(voter)) count += 1;
    return count;
  }
}
