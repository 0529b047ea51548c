/** Single-decree Paxos: the three roles of "Paxos Made Simple" and an in-memory cluster. */
export * from './messages.js';
export * from './acceptor.js';
export * from './proposer.js';
export * from './learner.js';
export * from './cluster.js';
