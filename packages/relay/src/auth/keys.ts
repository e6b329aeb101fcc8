/**
 * Raw 32-byte X25519 keys (WireGuard's format) to and from node:crypto key objects. The raw key is the tail of the
 * DER encoding, so fixed prefixes are all it takes.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KEY_SIZE } from '../codec/frame.js';
import { RelayArgumentError } from '../errors.js';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface RawKeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
}

function assertRaw(key: Uint8Array, argument: string): void {
  if (key.length !== KEY_SIZE) {
    throw new RelayArgumentError(`${argument} must be ${KEY_SIZE} raw bytes, got ${key.length}`, argument);
  }
}

export function privateKeyObject(raw: Uint8Array): KeyObject {
  assertRaw(raw, 'privateKey');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

export function publicKeyObject(raw: Uint8Array): KeyObject {
  assertRaw(raw, 'publicKey');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

export function rawPrivateKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
}

/** The public key of a raw private key. */
export function publicKeyOf(privateKey: Uint8Array): Buffer {
  return rawPublicKey(createPublicKey(privateKeyObject(privateKey)));
}

export function generateRawKeyPair(): RawKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawPublicKey(publicKey), privateKey: rawPrivateKey(privateKey) };
}

/** WireGuard's textual form of a key, for logs and metrics labels. */
export function keyToBase64(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
}

export function keyFromBase64(text: string): Buffer {
  const key = Buffer.from(text, 'base64');
  assertRaw(key, 'key');
  return key;
}
