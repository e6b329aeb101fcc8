import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/errors.js';
import {
  generateKeyPair,
  isWireGuardKey,
  keyFromHex,
  keyToHex,
  loadOrCreatePrivateKey,
  publicKeyFromPrivate,
  readKeyFile,
  writeKeyFile,
} from '../src/keys/x25519.js';

describe('X25519 keys', () => {
  it('derives the RFC 7748 §6.1 test vector', () => {
    const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    const expected = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');
    expect(publicKeyFromPrivate(alice.toString('base64'))).toBe(expected.toString('base64'));
  });

  it('generates clamped keys in WireGuard base64', () => {
    const { privateKey, publicKey } = generateKeyPair();
    expect(isWireGuardKey(privateKey) && isWireGuardKey(publicKey)).toBe(true);
    const raw = Buffer.from(privateKey, 'base64');
    expect((raw[0] ?? 0) & 7).toBe(0);
    expect((raw[31] ?? 0) & 0xc0).toBe(0x40);
    expect(keyFromHex(keyToHex(publicKey))).toBe(publicKey);
  });

  it('rejects what is not a key', () => {
    expect(isWireGuardKey('abc')).toBe(false);
    expect(isWireGuardKey(Buffer.alloc(31).toString('base64'))).toBe(false);
    expect(() => publicKeyFromPrivate('nope')).toThrow(ValidationError);
  });

  it('writes key files 0600 and reads them back; loadOrCreate reuses the stored key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wk-keys-'));
    try {
      const path = join(dir, 'sub', 'private.key');
      const first = await loadOrCreatePrivateKey(path);
      expect(first.created).toBe(true);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await loadOrCreatePrivateKey(path)).toEqual({ privateKey: first.privateKey, created: false });
      const { privateKey } = generateKeyPair();
      await writeKeyFile(path, privateKey);
      expect(await readKeyFile(path)).toBe(privateKey);
      expect((await readFile(path, 'utf8')).endsWith('\n')).toBe(true);
      await expect(writeKeyFile(path, 'garbage')).rejects.toThrow(ValidationError);
      expect(await readKeyFile(path)).toBe(privateKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
