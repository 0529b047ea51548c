/**
 * Small JSON files a node keeps beside its log (member.json, peers.json):
 * written atomically and durably, read with a clear error when damaged.
 */
import { open, readFile, rename, writeFile } from 'node:fs/promises';

/** The parsed content of `path`, or undefined if there is no such file. */
export async function readJsonFile(path: string, purpose: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${path} is not valid JSON: it ${purpose} and must not be edited`);
  }
}

/** Replaces `path` with `value` as JSON: a temporary file, fsynced, then renamed over it. */
export async function writeJsonFileDurably(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, JSON.stringify(value));
  const handle = await open(temporary, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
