package main

// The key-ownership proof of the auth extension, relay side (packages/relay/src/auth/proof.ts). Per connection
// the relay makes a fresh ephemeral X25519 key pair e/E and a random nonce; the client answers
//
//	HMAC-SHA256(key = X25519(client private, E), msg = "wirekube-relay-auth-v1" || nonce || client public || E)
//
// and the relay recomputes it with X25519(e, client public). Only a holder of the client's private key (or of e,
// which never leaves this process) can produce it.

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
)

var proofLabel = []byte("wirekube-relay-auth-v1")

// challenge is what a connection keeps while it waits for the proof.
type challenge struct {
	private   *ecdh.PrivateKey
	ephemeral []byte
	nonce     []byte
}

func newChallenge() *challenge {
	private, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	nonce := make([]byte, nonceSize)
	_, _ = rand.Read(nonce)
	return &challenge{private: private, ephemeral: private.PublicKey().Bytes(), nonce: nonce}
}

// body is the AuthChallenge frame's body: E || nonce.
func (c *challenge) body() []byte { return append(append([]byte{}, c.ephemeral...), c.nonce...) }

func proofMAC(shared, nonce, clientPublic, ephemeral []byte) []byte {
	mac := hmac.New(sha256.New, shared)
	mac.Write(proofLabel)
	mac.Write(nonce)
	mac.Write(clientPublic)
	mac.Write(ephemeral)
	return mac.Sum(nil)
}

// verifyProof says whether proof shows ownership of clientPublic. A low-order client key makes X25519 yield the
// all-zero secret, which crypto/ecdh refuses: such a key can never be proven.
func verifyProof(c *challenge, clientPublic, proof []byte) bool {
	if len(proof) != proofSize {
		return false
	}
	peer, err := ecdh.X25519().NewPublicKey(clientPublic)
	if err != nil {
		return false
	}
	shared, err := c.private.ECDH(peer)
	if err != nil {
		return false
	}
	return hmac.Equal(proofMAC(shared, c.nonce, clientPublic, c.ephemeral), proof)
}
