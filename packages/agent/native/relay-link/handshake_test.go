package main

import (
	"bytes"
	"crypto/ecdh"
	"testing"
	"time"
)

func testConfig(t *testing.T, offer []byte) handshakeConfig {
	t.Helper()
	private := seq(32, 1)
	key, err := ecdh.X25519().NewPrivateKey(private)
	if err != nil {
		t.Fatal(err)
	}
	return handshakeConfig{
		publicKey: key.PublicKey().Bytes(), privateKey: private, offer: offer,
		helloWait: 3 * time.Second, authWait: 10 * time.Second,
	}
}

var t0 = time.Unix(1000, 0)

func TestHandshakeOpensWithRegisterHelloAndTheEchoProbeInOneWrite(t *testing.T) {
	c := testConfig(t, []byte{extAuth, extPing})
	step := startHandshake(c, t0)
	want := append(append(encodeRegister(c.publicKey), encodeHello(c.offer)...), encodeData(c.publicKey, echoProbe)...)
	if len(step.writes) != 1 || !bytes.Equal(step.writes[0], want) {
		t.Fatalf("opening write %x, want %x", step.writes, want)
	}
	if step.state.phase != awaitingReply || !step.state.deadline.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("state %+v", step.state)
	}
	core := startHandshake(testConfig(t, nil), t0)
	if core.state.phase != handshakeReady || core.state.via != "core-only" || !bytes.Equal(core.writes[0], encodeRegister(c.publicKey)) {
		t.Fatalf("core-only start %+v", core)
	}
}

// A recorded timeline per row: the frames (or ticks) the relay produced and where the machine must end.
func TestHandshakeTimelines(t *testing.T) {
	c := testConfig(t, []byte{extAuth, extPing})
	ephemeral, _ := ecdh.X25519().NewPrivateKey(seq(32, 0x80))
	challenge := append(ephemeral.PublicKey().Bytes(), seq(32, 0xa0)...)
	proof, _ := computeProof(c.privateKey, c.publicKey, challenge[:32], challenge[32:])
	other := seq(32, 0x40)
	type input struct {
		kind byte
		body []byte
		tick time.Duration // >0: a tick at t0+tick instead of a frame
	}
	cases := []struct {
		name          string
		inputs        []input
		phase         handshakePhase
		via           string
		extensions    []byte
		authenticated bool
		writes        [][]byte
		delivered     int
	}{
		{"welcome with auth, challenge, ok", []input{{kind: frameWelcome, body: []byte{extAuth, extPing}}, {kind: frameAuthChallenge, body: challenge}, {kind: frameAuthOk}},
			handshakeReady, "auth-ok", []byte{extAuth, extPing}, true, [][]byte{encodeAuthProof(proof)}, 0},
		{"welcome without auth", []input{{kind: frameWelcome, body: []byte{extPing, extControl}}},
			handshakeReady, "welcome", []byte{extPing}, false, nil, 0},
		{"core relay errors on Hello", []input{{kind: frameError, body: []byte("unknown frame type")}},
			handshakeReady, "core-reply", nil, false, nil, 0},
		{"core relay echoes the probe", []input{{kind: frameData, body: append(append([]byte(nil), c.publicKey...), echoProbe...)}},
			handshakeReady, "core-reply", nil, false, nil, 0},
		{"core relay routes a peer's datagram first", []input{{kind: frameData, body: append(append([]byte(nil), other...), 'x')}},
			handshakeReady, "core-reply", nil, false, nil, 1},
		{"silent relay: core after the hello wait", []input{{tick: time.Second}, {tick: 3 * time.Second}},
			handshakeReady, "hello-timeout", nil, false, nil, 0},
		{"no AuthOk within the auth wait", []input{{kind: frameWelcome, body: []byte{extAuth}}, {tick: 10 * time.Second}},
			handshakeFailed, "", nil, false, nil, 0},
		{"ping and data while waiting for AuthOk", []input{{kind: frameWelcome, body: []byte{extAuth, extPing}}, {kind: framePing, body: seq(8, 0)}, {kind: frameData, body: append(append([]byte(nil), other...), 'y')}},
			awaitingAuth, "", []byte{extAuth, extPing}, false, [][]byte{encodePong(seq(8, 0))}, 1},
		{"a short challenge fails the attempt", []input{{kind: frameWelcome, body: []byte{extAuth}}, {kind: frameAuthChallenge, body: seq(10, 0)}},
			handshakeFailed, "", nil, false, nil, 0},
	}
	for _, tc := range cases {
		state := startHandshake(c, t0).state
		var writes [][]byte
		delivered := 0
		for _, in := range tc.inputs {
			var step handshakeStep
			if in.tick > 0 {
				step = handshakeTick(state, t0.Add(in.tick))
			} else {
				step = handshakeFrame(state, in.kind, in.body, t0, c)
			}
			state = step.state
			writes = append(writes, step.writes...)
			delivered += len(step.deliver)
		}
		if state.phase != tc.phase || state.via != tc.via || state.authenticated != tc.authenticated || !bytes.Equal(state.extensions, tc.extensions) {
			t.Errorf("%s: state %+v", tc.name, state)
		}
		if len(writes) != len(tc.writes) {
			t.Errorf("%s: writes %x, want %x", tc.name, writes, tc.writes)
		} else {
			for i := range writes {
				if !bytes.Equal(writes[i], tc.writes[i]) {
					t.Errorf("%s: write %d %x, want %x", tc.name, i, writes[i], tc.writes[i])
				}
			}
		}
		if delivered != tc.delivered {
			t.Errorf("%s: delivered %d, want %d", tc.name, delivered, tc.delivered)
		}
	}
}
