/** Exhaustive exploration of small consensus protocols in the FLP model (valency, Lemmas 2 and 3). */
export * from './model.js';
export * from './state-space.js';
export * from './lemmas.js';
export * from './majority-vote.js';
export * from './paxos-model.js';
