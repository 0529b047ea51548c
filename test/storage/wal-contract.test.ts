/** The write-ahead log contract (wal-contract.ts), run against both implementations. */
import { fileHarness, memoryHarness } from './helpers.js';
import { walContract } from './wal-contract.js';

walContract('FileWal', fileHarness);
walContract('MemoryWal', memoryHarness);
