import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeKeyDir } from '../src/cleanup/key-dir.js';

// The mount-point case (EBUSY on rmdir) needs root and a mount namespace: e2e/test/agent-cleanup-mount.test.ts.
describe('removeKeyDir', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'wk-keydir-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('deletes the contents first, then the directory when it can go (as `rm -rf /var/lib/wirekube`)', async () => {
    const dir = join(root, 'wirekube');
    mkdirSync(join(dir, 'old'), { recursive: true });
    writeFileSync(join(dir, 'private.key'), 'key\n');
    writeFileSync(join(dir, 'old', 'private.key'), 'older\n');
    expect(await removeKeyDir(dir)).toEqual({ entriesRemoved: 2, kept: false });
    expect(existsSync(dir)).toBe(false);
  });

  it('is done when the directory is already gone', async () => {
    expect(await removeKeyDir(join(root, 'absent'))).toEqual({ entriesRemoved: 0, kept: false });
  });
});
