package main

// What one relay connection may do, as a pure state machine (packages/relay/src/server/handshake.ts, whose
// tables the tests repeat): next(state, input, env) → { state, effects, wakeAt }. Every frame that is not
// forwarded Data goes through it (registration, negotiation, the ownership proof, liveness, Control), and so do
// the clock ticks that enforce the handshake, hello-grace, ping and idle deadlines. It does no I/O: session.go
// applies the effects to the socket and the routing table.

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

type handshakeConfig struct {
	requireAuth bool
	// Extensions this relay enables; empty makes a core-only relay.
	extensions         []byte
	handshakeTimeoutMs float64
	helloGraceMs       float64
	idleTimeoutMs      float64
	pingIntervalMs     float64
	pingTimeoutMs      float64
	control            bucketConfig
}

// handshakeEnv is the configuration and the two impure helpers the machine needs, injected so tables can fix them.
type handshakeEnv struct {
	config          handshakeConfig
	createChallenge func() *challenge
	verifyProof     func(c *challenge, key, proof []byte) bool
}

type sessionPhase int

const (
	// Waiting for the first frame, which must be Register.
	phaseNew sessionPhase = iota
	// Registered but not routed: the key needs a proof (auth required, or the key is taken); Hello must follow.
	phasePending
	// Not routed, challenge sent, waiting for the proof.
	phaseProving
	// Routed: Data to its key reaches it.
	phaseActive
	phaseClosed
)

// sessionState is the union of the phases above; each phase uses the fields its comment names.
type sessionState struct {
	phase    sessionPhase
	openedAt float64 // new, pending, proving
	key      []byte  // pending, proving, active
	// pending: when Hello must have arrived.
	helloDeadline float64
	extensions    []byte     // proving, active
	challenge     *challenge // proving; active while a voluntary proof (free key, auth offered) is outstanding
	authenticated bool       // active
	// active: only the frame right after Register may be Hello.
	helloAllowed bool
	lastPingAt   float64 // active
	control      bucket  // active: the Control rate limit
	reason       string  // closed
}

type inputKind int

const (
	// A frame that is not forwarded Data. keyTaken: another connection holds the key this one claims (for a
	// Register frame, the key in its body).
	inputFrame inputKind = iota
	// Time passed; lastReceivedAt is when the connection last received any byte.
	inputTick
	// The stream lost its framing: nothing more can be read from it.
	inputMalformed
)

type sessionInput struct {
	kind           inputKind
	frameType      byte
	body           []byte
	now            float64
	keyTaken       bool
	lastReceivedAt float64
	message        string
}

type effectKind int

const (
	effectSend effectKind = iota
	// Route the connection's key to it, closing any previous holder.
	effectRoute
	effectClose
	effectCount
	// Forward a Control payload (a view into the read: copy before keeping) to destination.
	effectControl
	effectLog
)

type sessionCounter int

const (
	countProtocolErrors sessionCounter = iota
	countAuthSuccesses
	countAuthFailures
	countRefusedRegistrations
	countUnregistered
	countControlRateLimited
)

type sessionEffect struct {
	kind  effectKind
	frame []byte // send
	key   []byte // route
	// close: errorText is sent in an Error frame first when hasErrorText; level is how loudly to log it (debug for
	// a connection that never registered, else info).
	reason       string
	errorText    string
	hasErrorText bool
	level        logLevel // close, log
	counter      sessionCounter
	destination  []byte // control
	payload      []byte // control
	event        string // log
	message      string // log
	fields       []field
}

type transition struct {
	state   sessionState
	effects []sessionEffect
	// When the machine wants a tick at the latest (beyond the server's sweep); hasWake says whether it does.
	wakeAt  float64
	hasWake bool
}

func initialSessionState(now float64) sessionState {
	return sessionState{phase: phaseNew, openedAt: now}
}

const (
	textAuthRequired = "authentication required: this relay only routes keys proven by the auth extension"
	textKeyTaken     = "key already registered by another connection; prove ownership (auth extension) to replace it"
	textReplaced     = "replaced by a newer connection that proved ownership of this key"
	textShuttingDown = "relay shutting down"
)

func nextSession(state sessionState, input sessionInput, env *handshakeEnv) transition {
	if state.phase == phaseClosed {
		return transition{state: state}
	}
	switch input.kind {
	case inputTick:
		return tick(state, input, &env.config)
	case inputMalformed:
		return malformed(state, input.message)
	}
	switch state.phase {
	case phaseNew:
		return onFirstFrame(state, input, &env.config)
	case phasePending:
		return onPendingFrame(state, input, env)
	case phaseProving:
		return onProvingFrame(state, input, env)
	default:
		return onActiveFrame(state, input, env)
	}
}

func send(frame []byte) sessionEffect { return sessionEffect{kind: effectSend, frame: frame} }

func count(counter sessionCounter) sessionEffect {
	return sessionEffect{kind: effectCount, counter: counter}
}

func logEffect(level logLevel, event, message string, fields ...field) sessionEffect {
	return sessionEffect{kind: effectLog, level: level, event: event, message: message, fields: fields}
}

// closeWith ends the connection; errorText "" with hasText false closes without an Error frame.
func closeWith(reason, errorText string, hasText bool, level logLevel, effects ...sessionEffect) transition {
	effects = append(effects, sessionEffect{
		kind: effectClose, reason: reason, errorText: errorText, hasErrorText: hasText, level: level,
	})
	return transition{state: sessionState{phase: phaseClosed, reason: reason}, effects: effects}
}

func quietIfNew(state sessionState) logLevel {
	if state.phase == phaseNew {
		return levelDebug
	}
	return levelInfo
}

// fatal: a protocol violation that ends the connection; quiet when it never registered.
func fatal(message string, from sessionState) transition {
	return closeWith(message, "protocol error: "+message, true, quietIfNew(from), count(countProtocolErrors))
}

func malformed(state sessionState, message string) transition {
	// Not a client of ours at all: no Error frame (it would not read one), no info line.
	if state.phase == phaseNew {
		return closeWith("bad frame length", "", false, levelDebug, count(countProtocolErrors))
	}
	return closeWith("bad frame length", "protocol error: "+message, true, levelInfo, count(countProtocolErrors))
}

func warning(state sessionState, message string) transition {
	return transition{state: state, effects: []sessionEffect{
		count(countProtocolErrors), send(encodeError("protocol error: " + message)),
	}}
}

func refuse(keyTaken bool) transition {
	if keyTaken {
		return closeWith("key taken", textKeyTaken, true, levelInfo, count(countRefusedRegistrations))
	}
	return closeWith("auth required", textAuthRequired, true, levelInfo)
}

func activate(key, extensions []byte, authenticated bool, now float64, config *handshakeConfig, helloAllowed bool) (sessionState, []sessionEffect) {
	state := sessionState{
		phase:         phaseActive,
		key:           key,
		extensions:    extensions,
		authenticated: authenticated,
		helloAllowed:  helloAllowed,
		lastPingAt:    now,
		control:       fullBucket(config.control, now),
	}
	return state, []sessionEffect{
		{kind: effectRoute, key: key},
		logEffect(levelInfo, "registered", "peer registered", field{"authenticated", authenticated}),
	}
}

func onFirstFrame(state sessionState, input sessionInput, config *handshakeConfig) transition {
	if input.frameType != frameRegister {
		return fatal("first frame must be Register, got "+frameTypeName(input.frameType), state)
	}
	if len(input.body) != keySize {
		return fatal(fmt.Sprintf("Register body must be a %d-byte key, got %d bytes", keySize, len(input.body)), state)
	}
	key := slices.Clone(input.body)
	if config.requireAuth || input.keyTaken {
		deadline := input.now + config.helloGraceMs
		return transition{
			state: sessionState{phase: phasePending, openedAt: state.openedAt, key: key, helloDeadline: deadline},
			effects: []sessionEffect{
				logEffect(levelDebug, "register-pending", "registration needs a proof", field{"taken", input.keyTaken}),
			},
			wakeAt:  deadline,
			hasWake: true,
		}
	}
	next, effects := activate(key, nil, false, input.now, config, true)
	return transition{state: next, effects: effects}
}

// negotiate: the Welcome answer to a Hello, the offered extensions this relay enables.
func negotiate(body, enabled []byte) []byte {
	offered := parseExtensionList(body)
	out := make([]byte, 0, len(offered))
	for _, id := range offered {
		if containsByte(enabled, id) {
			out = append(out, id)
		}
	}
	return out
}

func onPendingFrame(state sessionState, input sessionInput, env *handshakeEnv) transition {
	// A pending connection gets exactly one chance: Hello with auth, then the proof. Anything else ends it.
	if input.frameType != frameHello || len(env.config.extensions) == 0 {
		return refuse(input.keyTaken)
	}
	extensions := negotiate(input.body, env.config.extensions)
	welcome := send(encodeFrame(frameWelcome, extensions))
	if !containsByte(extensions, extAuth) {
		refused := refuse(input.keyTaken)
		refused.effects = append([]sessionEffect{welcome}, refused.effects...)
		return refused
	}
	c := env.createChallenge()
	return transition{
		state: sessionState{
			phase: phaseProving, openedAt: state.openedAt, key: state.key, extensions: extensions, challenge: c,
		},
		effects: []sessionEffect{welcome, send(encodeFrame(frameAuthChallenge, c.body()))},
	}
}

func proofFailed() transition {
	return closeWith("auth failed", "authentication failed: proof does not match the registered key", true, levelInfo,
		count(countAuthFailures), logEffect(levelWarn, "auth-failed", "key ownership proof failed"))
}

func proven() []sessionEffect {
	return []sessionEffect{
		count(countAuthSuccesses),
		send(encodeFrame(frameAuthOk)),
		logEffect(levelInfo, "authenticated", "key ownership proven"),
	}
}

func clientError(body []byte) sessionEffect {
	// Node decodes at most 512 bytes of it (invalid UTF-8 becomes U+FFFD either way).
	text := body[:min(len(body), 512)]
	return logEffect(levelInfo, "client-error", "client sent Error", field{"text", string(text)})
}

func pong(body []byte) sessionEffect {
	return send(encodeFrame(framePong, body[:min(len(body), pingTokenSize)]))
}

func onProvingFrame(state sessionState, input sessionInput, env *handshakeEnv) transition {
	switch input.frameType {
	case frameAuthProof:
		if !env.verifyProof(state.challenge, state.key, input.body) {
			return proofFailed()
		}
		next, effects := activate(state.key, state.extensions, true, input.now, &env.config, false)
		return transition{state: next, effects: append(proven(), effects...)}
	case frameKeepalive:
		return transition{state: state}
	case frameData:
		return transition{state: state, effects: []sessionEffect{count(countUnregistered)}}
	case frameError:
		return transition{state: state, effects: []sessionEffect{clientError(input.body)}}
	case frameRegister:
		return warning(state, "Register is only allowed as the first frame")
	case frameHello:
		return fatal("Hello is only allowed right after Register", state)
	case framePing:
		if containsByte(state.extensions, extPing) {
			return transition{state: state, effects: []sessionEffect{pong(input.body)}}
		}
		return refuse(input.keyTaken)
	case framePong:
		if containsByte(state.extensions, extPing) {
			return transition{state: state}
		}
		return refuse(input.keyTaken)
	}
	return refuse(input.keyTaken)
}

func onActiveFrame(state sessionState, input sessionInput, env *handshakeEnv) transition {
	helloAllowed := state.helloAllowed
	current := state
	current.helloAllowed = false
	enabled := env.config.extensions
	unknown := func() transition {
		return warning(current, "unknown frame type "+frameTypeName(input.frameType))
	}
	switch input.frameType {
	case frameKeepalive, frameData:
		return transition{state: current}
	case frameError:
		return transition{state: current, effects: []sessionEffect{clientError(input.body)}}
	case frameRegister:
		return warning(current, "Register is only allowed as the first frame")
	case frameHello:
		if len(enabled) == 0 {
			return unknown()
		}
		if !helloAllowed {
			return warning(current, "Hello is only allowed right after Register")
		}
		extensions := negotiate(input.body, enabled)
		effects := []sessionEffect{send(encodeFrame(frameWelcome, extensions))}
		current.extensions, current.challenge = extensions, nil
		if containsByte(extensions, extAuth) {
			current.challenge = env.createChallenge()
			effects = append(effects, send(encodeFrame(frameAuthChallenge, current.challenge.body())))
		}
		return transition{state: current, effects: effects}
	case frameAuthProof:
		if !containsByte(enabled, extAuth) {
			return unknown()
		}
		if current.challenge == nil {
			return warning(current, "AuthProof without a challenge")
		}
		if !env.verifyProof(current.challenge, current.key, input.body) {
			return proofFailed()
		}
		current.challenge, current.authenticated = nil, true
		return transition{state: current, effects: proven()}
	case framePing:
		if !containsByte(current.extensions, extPing) {
			return unknown()
		}
		return transition{state: current, effects: []sessionEffect{pong(input.body)}}
	case framePong:
		if !containsByte(current.extensions, extPing) {
			return unknown()
		}
		return transition{state: current}
	case frameControl:
		if !containsByte(current.extensions, extControl) {
			return unknown()
		}
		return onControl(current, input, &env.config)
	}
	return unknown()
}

func onControl(state sessionState, input sessionInput, config *handshakeConfig) transition {
	body := input.body
	if len(body) < keySize || len(body)-keySize > maxControlPayload {
		return fatal(fmt.Sprintf("Control body must be a %d-byte key and at most %d payload bytes, got %d bytes",
			keySize, maxControlPayload, len(body)), state)
	}
	next, taken := state.control.take(input.now, config.control)
	state.control = next
	if !taken {
		return transition{state: state, effects: []sessionEffect{count(countControlRateLimited)}}
	}
	return transition{state: state, effects: []sessionEffect{
		{kind: effectControl, destination: body[:keySize], payload: body[keySize:]},
	}}
}

func tick(state sessionState, input sessionInput, config *handshakeConfig) transition {
	now := input.now
	if state.phase != phaseActive {
		if now-state.openedAt > config.handshakeTimeoutMs {
			return closeWith("handshake timeout", "handshake timeout: register (and authenticate) sooner", true,
				quietIfNew(state))
		}
		if state.phase == phasePending {
			if now >= state.helloDeadline {
				return refuse(input.keyTaken)
			}
			return transition{state: state, wakeAt: state.helloDeadline, hasWake: true}
		}
		return transition{state: state}
	}
	if containsByte(state.extensions, extPing) {
		if now-input.lastReceivedAt > config.pingTimeoutMs {
			return closeWith("liveness timeout", "", false, levelInfo)
		}
		if now-state.lastPingAt >= config.pingIntervalMs {
			token := binary.BigEndian.AppendUint64(nil, math.Float64bits(now))
			state.lastPingAt = now
			return transition{state: state, effects: []sessionEffect{send(encodeFrame(framePing, token))}}
		}
		return transition{state: state}
	}
	if now-input.lastReceivedAt > config.idleTimeoutMs {
		return closeWith("idle timeout", "idle timeout: send Keepalive at least every 25 s", true, levelInfo)
	}
	return transition{state: state}
}
