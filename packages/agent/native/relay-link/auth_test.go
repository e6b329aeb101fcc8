package main

import (
	"encoding/hex"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Computed once with the Node client's computeProof (packages/relay/src/auth/proof.ts) on these inputs: private key
// 01..20, E = X25519 public of 80..9f, nonce a0^i. A Go proof the relay accepts is byte-equal to it.
func TestProofMatchesTheNodeClient(t *testing.T) {
	private := unhex(t, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")
	public := unhex(t, "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c")
	ephemeral := unhex(t, "493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d")
	nonce := unhex(t, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
	want := "439fa962754aa63b94fb4ab9c3756b3b153c832ea02ae7bac8ccf2b7a652b94a"
	proof, err := computeProof(private, public, ephemeral, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(proof); got != want {
		t.Fatalf("proof %s, want %s", got, want)
	}
	if err := checkKeyPair(private, public); err != nil {
		t.Fatalf("matching pair refused: %v", err)
	}
	if err := checkKeyPair(private, ephemeral); err == nil {
		t.Fatal("mismatched pair accepted")
	}
}

func TestProofRefusesALowOrderEphemeralKey(t *testing.T) {
	private := unhex(t, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")
	if _, err := computeProof(private, make([]byte, 32), make([]byte, 32), make([]byte, 32)); err == nil {
		t.Fatal("an all-zero E (low order) gave a proof")
	}
}
