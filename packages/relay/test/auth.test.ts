import { describe, expect, it } from 'vitest';
import { generateRawKeyPair, keyFromBase64, keyToBase64, publicKeyOf } from '../src/auth/keys.js';
import { computeProof, createChallenge, verifyProof } from '../src/auth/proof.js';

describe('key-ownership proof', () => {
  const owner = generateRawKeyPair();
  const other = generateRawKeyPair();

  it('raw keys round-trip and a private key gives its public key', () => {
    expect(publicKeyOf(owner.privateKey)).toEqual(owner.publicKey);
    expect(keyFromBase64(keyToBase64(owner.publicKey))).toEqual(owner.publicKey);
  });

  it('verifies a proof from the private key holder', () => {
    const challenge = createChallenge();
    const proof = computeProof(
      owner.privateKey,
      owner.publicKey,
      challenge.ephemeralPublicKey,
      challenge.nonce,
    );
    expect(verifyProof(challenge, owner.publicKey, proof)).toBe(true);
  });

  it('rejects a proof made with another private key for the claimed public key', () => {
    const challenge = createChallenge();
    const forged = computeProof(
      other.privateKey,
      owner.publicKey,
      challenge.ephemeralPublicKey,
      challenge.nonce,
    );
    expect(verifyProof(challenge, owner.publicKey, forged)).toBe(false);
  });

  it('rejects a proof replayed against a new challenge', () => {
    const first = createChallenge();
    const proof = computeProof(owner.privateKey, owner.publicKey, first.ephemeralPublicKey, first.nonce);
    expect(verifyProof(createChallenge(), owner.publicKey, proof)).toBe(false);
  });

  it('rejects malformed proofs and low-order keys without throwing', () => {
    const challenge = createChallenge();
    expect(verifyProof(challenge, owner.publicKey, Buffer.alloc(31))).toBe(false);
    expect(verifyProof(challenge, Buffer.alloc(32), Buffer.alloc(32))).toBe(false);
  });
});
