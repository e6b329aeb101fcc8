/**
 * Key-ownership proof (extension 'auth'). The relay sends a fresh ephemeral X25519 public key E and a random
 * nonce; the client answers
 *
 *   proof = HMAC-SHA256(key = X25519(client private, E),
 *                       msg = "wirekube-relay-auth-v1" || nonce || client public || E)
 *
 * and the relay recomputes it with X25519(e, client public). Only a holder of the client's private key (or of e,
 * which never leaves the relay's memory) can produce it. The raw shared secret is never sent, and the label keeps
 * the output from being useful in any other protocol that uses the same WireGuard key. See README, "Threat model".
 */
import {
  createHmac,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { NONCE_SIZE, PROOF_SIZE } from '../codec/extensions.js';
import { privateKeyObject, publicKeyObject, rawPublicKey } from './keys.js';

const LABEL = Buffer.from('wirekube-relay-auth-v1', 'utf8');

/** What the relay keeps for one connection while it waits for the proof. */
export interface PendingChallenge {
  ephemeralPrivateKey: KeyObject;
  ephemeralPublicKey: Buffer;
  nonce: Buffer;
}

export function createChallenge(random: (size: number) => Buffer = randomBytes): PendingChallenge {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    ephemeralPrivateKey: privateKey,
    ephemeralPublicKey: rawPublicKey(publicKey),
    nonce: random(NONCE_SIZE),
  };
}

function mac(
  sharedSecret: Buffer,
  nonce: Uint8Array,
  clientPublicKey: Uint8Array,
  ephemeral: Uint8Array,
): Buffer {
  return createHmac('sha256', sharedSecret)
    .update(LABEL)
    .update(nonce)
    .update(clientPublicKey)
    .update(ephemeral)
    .digest();
}

/** Client side: the proof for a challenge, from the raw private and public keys. */
export function computeProof(
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  ephemeralPublicKey: Uint8Array,
  nonce: Uint8Array,
): Buffer {
  const shared = diffieHellman({
    privateKey: privateKeyObject(privateKey),
    publicKey: publicKeyObject(ephemeralPublicKey),
  });
  return mac(shared, nonce, publicKey, ephemeralPublicKey);
}

/** Relay side: whether `proof` shows ownership of `clientPublicKey`. Never throws on bad input. */
export function verifyProof(
  challenge: PendingChallenge,
  clientPublicKey: Uint8Array,
  proof: Uint8Array,
): boolean {
  if (proof.length !== PROOF_SIZE) return false;
  let shared: Buffer;
  try {
    shared = diffieHellman({
      privateKey: challenge.ephemeralPrivateKey,
      publicKey: publicKeyObject(clientPublicKey),
    });
  } catch {
    // Low-order points make X25519 fail: such a key cannot be proven.
    return false;
  }
  const expected = mac(shared, challenge.nonce, clientPublicKey, challenge.ephemeralPublicKey);
  return timingSafeEqual(expected, proof);
}
