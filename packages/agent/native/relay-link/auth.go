package main

// The key-ownership proof of the relay's auth extension (packages/relay/src/auth/proof.ts). The relay sends a fresh
// ephemeral X25519 public key E and a nonce; the client answers
//
//	HMAC-SHA256(key = X25519(client private, E), msg = "wirekube-relay-auth-v1" || nonce || client public || E)
//
// so only a holder of the private key can register that key over someone else's stale connection.

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
)

var proofLabel = []byte("wirekube-relay-auth-v1")

// computeProof answers one AuthChallenge. crypto/ecdh clamps the private scalar exactly as WireGuard and Node do,
// and refuses a low-order E (an all-zero shared secret), which only a broken or hostile relay would send.
func computeProof(privateKey, publicKey, ephemeral, nonce []byte) ([]byte, error) {
	private, err := ecdh.X25519().NewPrivateKey(privateKey)
	if err != nil {
		return nil, err
	}
	peer, err := ecdh.X25519().NewPublicKey(ephemeral)
	if err != nil {
		return nil, err
	}
	shared, err := private.ECDH(peer)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, shared)
	mac.Write(proofLabel)
	mac.Write(nonce)
	mac.Write(publicKey)
	mac.Write(ephemeral)
	return mac.Sum(nil), nil
}

// checkKeyPair refuses a private key that is not the public key's (the Node client refuses it too): a relay with
// auth would reject every proof, and the node would never know why.
func checkKeyPair(privateKey, publicKey []byte) error {
	private, err := ecdh.X25519().NewPrivateKey(privateKey)
	if err != nil {
		return err
	}
	if !bytes.Equal(private.PublicKey().Bytes(), publicKey) {
		return errors.New("privateKey does not match publicKey")
	}
	return nil
}
