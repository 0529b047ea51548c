/** FloodSet: f+1-round consensus for synchronous systems with crash failures. */
export * from './flooding.js';
