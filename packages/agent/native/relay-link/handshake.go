package main

// The client side of a relay connection's handshake as a pure machine, the same decisions as
// packages/relay/src/client/handshake.ts:
//
// One opening write: Register, Hello(offer) and an echo probe (a Data frame to our own key). The relay's first reply
// decides: Welcome → extensions (with auth agreed: answer the challenge, wait for AuthOk); anything else (an Error
// for the unknown Hello, the echoed probe, any frame) → a core-only relay, ready at once; nothing within
// helloTimeout → core, ready. A core relay thus costs no wait unless it drops Data to its sender.

import (
	"bytes"
	"time"
)

// echoProbe's first byte (0) is no WireGuard message type: a WireGuard that ever got it would drop it.
var echoProbe = []byte("\x00wirekube-relay-echo-probe")

type handshakeConfig struct {
	publicKey  []byte
	privateKey []byte // nil: no proof
	offer      []byte // extension ids; empty = core only
	helloWait  time.Duration
	authWait   time.Duration
}

type handshakePhase int

const (
	awaitingReply handshakePhase = iota
	awaitingAuth
	handshakeReady
	handshakeFailed
)

type handshakeState struct {
	phase         handshakePhase
	deadline      time.Time
	extensions    []byte
	authenticated bool
	via           string // how it became ready, for the relay-ready log: the Node client's names
	reason        string // why it failed
}

// handshakeStep is what one input produced: frames to write, datagrams that arrived early and belong to the
// proxy, and log lines.
type handshakeStep struct {
	state   handshakeState
	writes  [][]byte
	deliver []datagramFrom
	logs    []logLine
}

type datagramFrom struct{ source, datagram []byte }

type logLine struct {
	level   logLevel
	event   string
	message string
	fields  map[string]any
}

func startHandshake(config handshakeConfig, now time.Time) handshakeStep {
	register := encodeRegister(config.publicKey)
	if len(config.offer) == 0 {
		return handshakeStep{
			state:  handshakeState{phase: handshakeReady, via: "core-only"},
			writes: [][]byte{register},
		}
	}
	// One write, so the relay reads Register and Hello together and never has to guess whether Hello follows.
	opening := append(append(register, encodeHello(config.offer)...), encodeData(config.publicKey, echoProbe)...)
	return handshakeStep{
		state:  handshakeState{phase: awaitingReply, deadline: now.Add(config.helloWait)},
		writes: [][]byte{opening},
	}
}

func isEchoProbe(source, datagram, publicKey []byte) bool {
	return bytes.Equal(datagram, echoProbe) && bytes.Equal(source, publicKey)
}

// handshakeTick: the deadline passed without the reply the state waits for.
func handshakeTick(state handshakeState, now time.Time) handshakeStep {
	if state.phase >= handshakeReady || now.Before(state.deadline) {
		return handshakeStep{state: state}
	}
	if state.phase == awaitingReply {
		return handshakeStep{
			state: handshakeState{phase: handshakeReady, via: "hello-timeout"},
			logs:  []logLine{{levelInfo, "hello-timeout", "no reply from relay: using the core protocol", nil}},
		}
	}
	return handshakeStep{state: handshakeState{phase: handshakeFailed, reason: "auth timeout"}}
}

// handshakeFrame: one frame from the relay while not yet ready.
func handshakeFrame(state handshakeState, kind byte, body []byte, now time.Time, config handshakeConfig) handshakeStep {
	switch state.phase {
	case awaitingReply:
		return firstReply(kind, body, now, config)
	case awaitingAuth:
		return authReply(state, kind, body, config)
	}
	return handshakeStep{state: state}
}

func firstReply(kind byte, body []byte, now time.Time, config handshakeConfig) handshakeStep {
	core := handshakeState{phase: handshakeReady, via: "core-reply"}
	switch kind {
	case frameWelcome:
		var agreed []byte
		for _, id := range parseExtensionList(body) {
			if containsByte(config.offer, id) {
				agreed = append(agreed, id)
			}
		}
		if containsByte(agreed, extAuth) && config.privateKey != nil {
			return handshakeStep{state: handshakeState{phase: awaitingAuth, extensions: agreed, deadline: now.Add(config.authWait)}}
		}
		return handshakeStep{state: handshakeState{phase: handshakeReady, extensions: agreed, via: "welcome"}}
	case frameError:
		return handshakeStep{state: core, logs: []logLine{relayErrorLog(body)}}
	case frameData:
		return handshakeStep{state: core, deliver: earlyData(body, config)}
	}
	return handshakeStep{state: core}
}

func authReply(state handshakeState, kind byte, body []byte, config handshakeConfig) handshakeStep {
	switch kind {
	case frameAuthChallenge:
		if len(body) != keySize+nonceSize {
			return handshakeStep{state: handshakeState{phase: handshakeFailed, reason: "AuthChallenge body must be 64 bytes"}}
		}
		proof, err := computeProof(config.privateKey, config.publicKey, body[:keySize], body[keySize:])
		if err != nil {
			return handshakeStep{state: handshakeState{phase: handshakeFailed, reason: "auth challenge: " + err.Error()}}
		}
		return handshakeStep{state: state, writes: [][]byte{encodeAuthProof(proof)}}
	case frameAuthOk:
		return handshakeStep{state: handshakeState{phase: handshakeReady, extensions: state.extensions, authenticated: true, via: "auth-ok"}}
	case framePing:
		if containsByte(state.extensions, extPing) {
			return handshakeStep{state: state, writes: [][]byte{encodePong(body)}}
		}
	case frameError:
		// The relay refused the proof or the key; it closes the connection, which ends this attempt.
		return handshakeStep{state: state, logs: []logLine{relayErrorLog(body)}}
	case frameData:
		// A free key is routed before the proof completes: traffic may already arrive.
		return handshakeStep{state: state, deliver: earlyData(body, config)}
	}
	return handshakeStep{state: state}
}

func earlyData(body []byte, config handshakeConfig) []datagramFrom {
	if len(body) < keySize || isEchoProbe(body[:keySize], body[keySize:], config.publicKey) {
		return nil
	}
	return []datagramFrom{{source: body[:keySize], datagram: body[keySize:]}}
}

func relayErrorLog(body []byte) logLine {
	return logLine{levelWarn, "relay-error", "relay sent Error", map[string]any{"text": errorText(body)}}
}

// errorText: at most 512 bytes of an Error frame's text, as the Node client logs it.
func errorText(body []byte) string {
	if len(body) > 512 {
		body = body[:512]
	}
	return string(bytes.ToValidUTF8(body, []byte("\uFFFD")))
}
