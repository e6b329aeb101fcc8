import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface KeyDirResult {
  entriesRemoved: number;
  /** True when the directory itself had to stay (a mount point answers rmdir with EBUSY). */
  kept: boolean;
}

/**
 * Deletes the key material: first everything inside the directory, then the directory if it can go. In the
 * cleanup Job the directory is a hostPath mount point, which cannot be removed (EBUSY) — and a recursive rm of
 * the directory itself stops at that error before deleting the files, leaving private.key behind.
 */
export async function removeKeyDir(dir: string): Promise<KeyDirResult> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entriesRemoved: 0, kept: false };
    throw error;
  }
  for (const entry of entries) await rm(join(dir, entry), { recursive: true, force: true });
  try {
    await rmdir(dir);
    return { entriesRemoved: entries.length, kept: false };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EBUSY' || code === 'EROFS') return { entriesRemoved: entries.length, kept: true };
    throw error;
  }
}
