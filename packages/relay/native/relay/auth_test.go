package main

import (
	"bytes"
	"testing"
)

func TestProofVerifies(t *testing.T) {
	keys := newTestKeys(t)
	c := newChallenge()
	if len(c.body()) != keySize+nonceSize || !bytes.Equal(c.body()[:keySize], c.ephemeral) {
		t.Fatalf("challenge body %d bytes", len(c.body()))
	}
	proof := clientProof(t, keys, c.ephemeral, c.nonce)
	if !verifyProof(c, keys.public, proof) {
		t.Fatal("the owner's proof is refused")
	}
	if verifyProof(c, newTestKeys(t).public, proof) {
		t.Error("a proof for another key is accepted")
	}
	if verifyProof(newChallenge(), keys.public, proof) {
		t.Error("a proof for another challenge is accepted")
	}
	if verifyProof(c, keys.public, proof[:31]) {
		t.Error("a short proof is accepted")
	}
}

func TestChallengesAreFresh(t *testing.T) {
	a, b := newChallenge(), newChallenge()
	if bytes.Equal(a.ephemeral, b.ephemeral) || bytes.Equal(a.nonce, b.nonce) {
		t.Error("two connections got the same ephemeral key or nonce")
	}
}

// Low-order points give the all-zero shared secret: such a key can never be proven, whatever the proof.
func TestLowOrderKeysAreRefused(t *testing.T) {
	c := newChallenge()
	zero := make([]byte, keySize)
	one := append([]byte{1}, make([]byte, keySize-1)...)
	for _, key := range [][]byte{zero, one} {
		forged := proofMAC(make([]byte, keySize), c.nonce, key, c.ephemeral)
		if verifyProof(c, key, forged) {
			t.Errorf("low-order key %x proven", key[:1])
		}
	}
}
