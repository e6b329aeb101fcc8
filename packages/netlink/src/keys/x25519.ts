import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ValidationError } from '../errors.js';
import { isWireGuardKey, KEY_LENGTH } from '../net/key.js';

export { isWireGuardKey, KEY_LENGTH };

// RFC 8410 DER wrappers around a raw X25519 key: node:crypto speaks DER, WireGuard speaks the raw 32 bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** base64 → raw 32 bytes; throws ValidationError on anything else. */
export function keyToBytes(key: string, what = 'key'): Buffer {
  if (!isWireGuardKey(key)) {
    throw new ValidationError([`${what} is not 32 bytes of base64`], { operation: 'key.decode' });
  }
  return Buffer.from(key, 'base64');
}

export function keyFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== KEY_LENGTH) {
    throw new ValidationError([`key must be ${KEY_LENGTH} bytes, got ${bytes.length}`], {
      operation: 'key.encode',
    });
  }
  return Buffer.from(bytes).toString('base64');
}

/** The UAPI protocol writes keys in lower-case hex. */
export function keyToHex(key: string): string {
  return keyToBytes(key).toString('hex');
}

export function keyFromHex(hex: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ValidationError(['key is not 64 hex digits'], { operation: 'key.decode' });
  }
  return Buffer.from(hex, 'hex').toString('base64');
}

/** A fresh private key, clamped as `wg genkey` does so every tool shows the same bytes. */
export function generatePrivateKey(): string {
  const raw = randomBytes(KEY_LENGTH);
  raw[0] = (raw[0] ?? 0) & 248;
  raw[31] = ((raw[31] ?? 0) & 127) | 64;
  return raw.toString('base64');
}

/** The public key of a private key (`wg pubkey`). */
export function publicKeyFromPrivate(privateKey: string): string {
  const raw = keyToBytes(privateKey, 'private key');
  const keyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  if (!spki.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)) {
    throw new Error('unexpected SPKI encoding from node:crypto');
  }
  return spki.subarray(SPKI_PREFIX.length).toString('base64');
}

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

export function generateKeyPair(): KeyPair {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: publicKeyFromPrivate(privateKey) };
}

/**
 * Writes a key file readable by root only. The file is written under a temporary name with mode 0600 and
 * renamed, so no reader ever sees a partial key or a moment with wider permissions.
 */
export async function writeKeyFile(path: string, key: string): Promise<void> {
  keyToBytes(key);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, `${key}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/** Reads a key file written by writeKeyFile or `wg genkey > file`. */
export async function readKeyFile(path: string): Promise<string> {
  const text = (await readFile(path, 'utf8')).trim();
  keyToBytes(text, `key in ${path}`);
  return text;
}

/** The node's identity across restarts: reuse the key on disk, or create and store one. */
export async function loadOrCreatePrivateKey(
  path: string,
): Promise<{ privateKey: string; created: boolean }> {
  try {
    return { privateKey: await readKeyFile(path), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const privateKey = generatePrivateKey();
  await writeKeyFile(path, privateKey);
  return { privateKey, created: true };
}
