package main

// The connection machine from tables, without sockets: the rows of packages/relay/test/server-handshake.test.ts,
// so both relays decide alike.

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
)

type testKeys struct{ private, public []byte }

func newTestKeys(t testing.TB) testKeys {
	t.Helper()
	private, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{private.Bytes(), private.PublicKey().Bytes()}
}

// clientProof is what a client answers to a challenge (the relay-link's computeProof).
func clientProof(t testing.TB, keys testKeys, ephemeral, nonce []byte) []byte {
	t.Helper()
	private, err := ecdh.X25519().NewPrivateKey(keys.private)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ecdh.X25519().NewPublicKey(ephemeral)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := private.ECDH(peer)
	if err != nil {
		t.Fatal(err)
	}
	return proofMAC(shared, nonce, keys.public, ephemeral)
}

var (
	owner      = newTestKeys(&testing.T{})
	otherPeer  = newTestKeys(&testing.T{})
	fixedChal  = newChallenge()
	goodProof  = clientProof(&testing.T{}, owner, fixedChal.ephemeral, fixedChal.nonce)
	baseConfig = handshakeConfig{
		extensions:         allExtensions,
		handshakeTimeoutMs: 10_000,
		helloGraceMs:       100,
		idleTimeoutMs:      75_000,
		pingIntervalMs:     2_000,
		pingTimeoutMs:      6_000,
		control:            bucketConfig{perSecond: 1, burst: 2},
	}
)

func testEnv(change func(*handshakeConfig)) *handshakeEnv {
	config := baseConfig
	if change != nil {
		change(&config)
	}
	return &handshakeEnv{config: config, createChallenge: func() *challenge { return fixedChal }, verifyProof: verifyProof}
}

func requireAuth(c *handshakeConfig) { c.requireAuth = true }
func coreOnly(c *handshakeConfig)    { c.extensions = nil }

func frameIn(kind byte, body []byte, now float64, keyTaken bool) sessionInput {
	return sessionInput{kind: inputFrame, frameType: kind, body: body, now: now, keyTaken: keyTaken}
}
func register(now float64, keyTaken bool) sessionInput {
	return frameIn(frameRegister, owner.public, now, keyTaken)
}
func hello(now float64, keyTaken bool, ids ...byte) sessionInput {
	return frameIn(frameHello, ids, now, keyTaken)
}
func proofIn(p []byte) sessionInput { return frameIn(frameAuthProof, p, 0, false) }
func controlIn(payload []byte, now float64) sessionInput {
	return frameIn(frameControl, append(slices.Clone(otherPeer.public), payload...), now, false)
}
func tickIn(now, lastReceivedAt float64, keyTaken bool) sessionInput {
	return sessionInput{kind: inputTick, now: now, lastReceivedAt: lastReceivedAt, keyTaken: keyTaken}
}
func malformedIn() sessionInput {
	return sessionInput{kind: inputMalformed, message: "frame length 0 outside 1..65536"}
}

var counterNames = map[sessionCounter]string{
	countProtocolErrors: "protocolErrors", countAuthSuccesses: "authSuccesses", countAuthFailures: "authFailures",
	countRefusedRegistrations: "refusedRegistrations", countUnregistered: "unregistered",
	countControlRateLimited: "controlRateLimited",
}

var phaseNames = map[sessionPhase]string{
	phaseNew: "new", phasePending: "pending", phaseProving: "proving", phaseActive: "active", phaseClosed: "closed",
}

// summary puts an effect in a form a table can hold (the Node test's summary()).
func summary(e sessionEffect) string {
	switch e.kind {
	case effectSend:
		kind := e.frame[headerSize]
		switch kind {
		case frameError:
			return fmt.Sprintf("send Error %q", e.frame[bodyOffset:])
		case frameWelcome:
			return fmt.Sprintf("send Welcome %v", e.frame[bodyOffset:])
		}
		return "send " + frameTypeName(kind)
	case effectRoute:
		return "route"
	case effectClose:
		if !e.hasErrorText {
			return "close " + e.reason + " (silent)"
		}
		return "close " + e.reason
	case effectCount:
		return "count " + counterNames[e.counter]
	case effectControl:
		return fmt.Sprintf("control %dB", len(e.payload))
	default:
		return "log " + e.event
	}
}

type runResult struct {
	state   sessionState
	effects []string
	levels  []logLevel // of every close
	wakeAt  float64
	hasWake bool
}

func runMachine(inputs []sessionInput, env *handshakeEnv, state sessionState) runResult {
	var out runResult
	for _, input := range inputs {
		t := nextSession(state, input, env)
		state = t.state
		out.wakeAt, out.hasWake = t.wakeAt, t.hasWake
		for _, e := range t.effects {
			out.effects = append(out.effects, summary(e))
			if e.kind == effectClose {
				out.levels = append(out.levels, e.level)
			}
		}
	}
	out.state = state
	return out
}

type machineRow struct {
	name    string
	inputs  []sessionInput
	config  func(*handshakeConfig)
	phase   string
	effects []string
}

func checkRows(t *testing.T, rows []machineRow, from func() sessionState) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			result := runMachine(row.inputs, testEnv(row.config), from())
			if got := phaseNames[result.state.phase]; got != row.phase {
				t.Errorf("phase %s, want %s", got, row.phase)
			}
			if !slices.Equal(result.effects, row.effects) && (len(result.effects) > 0 || len(row.effects) > 0) {
				t.Errorf("effects\n got  %q\n want %q", result.effects, row.effects)
			}
		})
	}
}

func fresh() sessionState { return initialSessionState(0) }

func TestMachineRegistration(t *testing.T) {
	checkRows(t, []machineRow{
		{"a free key is routed at once", []sessionInput{register(0, false)}, nil, "active",
			[]string{"route", "log registered"}},
		{"the first frame must be Register", []sessionInput{frameIn(frameKeepalive, nil, 0, false)}, nil, "closed",
			[]string{"count protocolErrors", "close first frame must be Register, got Keepalive"}},
		{"a Register body must be a key", []sessionInput{frameIn(frameRegister, make([]byte, 31), 0, false)}, nil,
			"closed", []string{"count protocolErrors", "close Register body must be a 32-byte key, got 31 bytes"}},
		{"requireAuth: registered, not routed", []sessionInput{register(0, false)}, requireAuth, "pending",
			[]string{"log register-pending"}},
		{"a taken key: not routed", []sessionInput{register(0, true)}, nil, "pending",
			[]string{"log register-pending"}},
		{"requireAuth, core client (no Hello within the grace): refused with the reason",
			[]sessionInput{register(0, false), tickIn(99, 99, false), tickIn(100, 100, false)}, requireAuth, "closed",
			[]string{"log register-pending", "close auth required"}},
		{"taken key, core client: refused as taken", []sessionInput{register(0, true), tickIn(100, 100, true)}, nil,
			"closed", []string{"log register-pending", "count refusedRegistrations", "close key taken"}},
		{"pending then Data: refused at once",
			[]sessionInput{register(0, false), frameIn(frameData, make([]byte, 40), 0, false)}, requireAuth, "closed",
			[]string{"log register-pending", "close auth required"}},
		{"pending then Hello with auth: Welcome and a challenge",
			[]sessionInput{register(0, false), hello(0, false, extAuth, extPing)}, requireAuth, "proving",
			[]string{"log register-pending", "send Welcome [1 2]", "send AuthChallenge"}},
		{"pending then Hello without auth: Welcome, then refused",
			[]sessionInput{register(0, false), hello(0, false, extPing)}, requireAuth, "closed",
			[]string{"log register-pending", "send Welcome [2]", "close auth required"}},
		{"proven: routed and authenticated",
			[]sessionInput{register(0, false), hello(0, false, extAuth), proofIn(goodProof)}, requireAuth, "active",
			[]string{"log register-pending", "send Welcome [1]", "send AuthChallenge", "count authSuccesses",
				"send AuthOk", "log authenticated", "route", "log registered"}},
		{"a wrong proof closes",
			[]sessionInput{register(0, true), hello(0, true, extAuth), proofIn(make([]byte, 32))}, nil, "closed",
			[]string{"log register-pending", "send Welcome [1]", "send AuthChallenge", "count authFailures",
				"log auth-failed", "close auth failed"}},
		{"Data while proving is dropped as unregistered",
			[]sessionInput{register(0, false), hello(0, false, extAuth), frameIn(frameData, make([]byte, 40), 0, false)},
			requireAuth, "proving",
			[]string{"log register-pending", "send Welcome [1]", "send AuthChallenge", "count unregistered"}},
		{"a free key may prove voluntarily while routed",
			[]sessionInput{register(0, false), hello(0, false, extAuth, extControl), proofIn(goodProof)}, nil, "active",
			[]string{"route", "log registered", "send Welcome [1 3]", "send AuthChallenge", "count authSuccesses",
				"send AuthOk", "log authenticated"}},
		{"Hello only right after Register",
			[]sessionInput{register(0, false), frameIn(frameKeepalive, nil, 0, false), hello(0, false, extPing)}, nil,
			"active", []string{"route", "log registered", "count protocolErrors",
				`send Error "protocol error: Hello is only allowed right after Register"`}},
		{"a core-only relay answers Hello as an unknown frame",
			[]sessionInput{register(0, false), hello(0, false, extAuth)}, coreOnly, "active",
			[]string{"route", "log registered", "count protocolErrors",
				`send Error "protocol error: unknown frame type Hello"`}},
		{"unknown extension ids are ignored", []sessionInput{register(0, false), hello(0, false, 0x09, extPing, extPing)},
			nil, "active", []string{"route", "log registered", "send Welcome [2]"}},
		{"the handshake timeout", []sessionInput{tickIn(10_000, 0, false), tickIn(10_001, 0, false)}, nil, "closed",
			[]string{"close handshake timeout"}},
	}, fresh)
}

func TestMachineHelloGraceWake(t *testing.T) {
	r := runMachine([]sessionInput{register(5, false)}, testEnv(requireAuth), fresh())
	if !r.hasWake || r.wakeAt != 105 {
		t.Errorf("wake %v %v, want 105", r.hasWake, r.wakeAt)
	}
	r = runMachine([]sessionInput{register(5, false), tickIn(50, 50, false)}, testEnv(requireAuth), fresh())
	if !r.hasWake || r.wakeAt != 105 {
		t.Errorf("after a tick: wake %v %v, want 105", r.hasWake, r.wakeAt)
	}
	if r = runMachine([]sessionInput{register(5, false)}, testEnv(nil), fresh()); r.hasWake {
		t.Error("a free key asks for no wake-up")
	}
}

func TestMachineRefusalTexts(t *testing.T) {
	cases := []struct {
		keyTaken bool
		text     string
	}{{false, textAuthRequired}, {true, textKeyTaken}}
	for _, c := range cases {
		state := runMachine([]sessionInput{register(0, c.keyTaken)}, testEnv(requireAuth), fresh()).state
		tr := nextSession(state, tickIn(100, 100, c.keyTaken), testEnv(requireAuth))
		last := tr.effects[len(tr.effects)-1]
		if last.kind != effectClose || !last.hasErrorText || last.errorText != c.text {
			t.Errorf("keyTaken %v: %+v", c.keyTaken, last)
		}
	}
}

func TestMachineGarbageIsQuiet(t *testing.T) {
	rows := []struct {
		machineRow
		level logLevel
	}{
		{machineRow{"lost framing before registering: cut at once, no Error frame", []sessionInput{malformedIn()}, nil,
			"closed", []string{"count protocolErrors", "close bad frame length (silent)"}}, levelDebug},
		{machineRow{"lost framing once registered: told why", []sessionInput{register(0, false), malformedIn()}, nil,
			"closed", []string{"route", "log registered", "count protocolErrors", "close bad frame length"}}, levelInfo},
		{machineRow{"lost framing while pending a proof", []sessionInput{register(0, false), malformedIn()},
			requireAuth, "closed", []string{"log register-pending", "count protocolErrors", "close bad frame length"}},
			levelInfo},
		{machineRow{"a well-framed wrong first frame", []sessionInput{frameIn(0x42, make([]byte, 9), 0, false)}, nil,
			"closed", []string{"count protocolErrors", "close first frame must be Register, got 0x42"}}, levelDebug},
		{machineRow{"never registered within the handshake timeout", []sessionInput{tickIn(10_001, 0, false)}, nil,
			"closed", []string{"close handshake timeout"}}, levelDebug},
		{machineRow{"registered but never proven within the handshake timeout",
			[]sessionInput{register(0, false), hello(0, false, extAuth), tickIn(10_001, 0, false)}, requireAuth,
			"closed", []string{"log register-pending", "send Welcome [1]", "send AuthChallenge",
				"close handshake timeout"}}, levelInfo},
	}
	for _, row := range rows {
		checkRows(t, []machineRow{row.machineRow}, fresh)
		r := runMachine(row.inputs, testEnv(row.config), fresh())
		if !slices.Equal(r.levels, []logLevel{row.level}) {
			t.Errorf("%s: close levels %v, want %v", row.name, r.levels, row.level)
		}
	}
	closed := sessionState{phase: phaseClosed, reason: "x"}
	if tr := nextSession(closed, malformedIn(), testEnv(nil)); len(tr.effects) != 0 {
		t.Errorf("a closed connection ignores a late framing error: %v", tr.effects)
	}
}

func TestMachineLiveness(t *testing.T) {
	pinged := runMachine([]sessionInput{register(0, false), hello(0, false, extPing)}, testEnv(nil), fresh()).state
	core := runMachine([]sessionInput{register(0, false)}, testEnv(nil), fresh()).state
	closed := sessionState{phase: phaseClosed, reason: "x"}
	rows := []struct {
		name    string
		from    sessionState
		input   sessionInput
		phase   string
		effects []string
	}{
		{"ping due", pinged, tickIn(2_000, 1_500, false), "active", []string{"send Ping"}},
		{"ping not yet due", pinged, tickIn(1_999, 1_500, false), "active", nil},
		{"silent ping connection is dead", pinged, tickIn(6_001, 0, false), "closed",
			[]string{"close liveness timeout (silent)"}},
		{"core connection within idle timeout", core, tickIn(75_000, 0, false), "active", nil},
		{"core connection idle", core, tickIn(75_001, 0, false), "closed", []string{"close idle timeout"}},
		{"a closed connection ignores everything", closed, tickIn(1e9, 0, false), "closed", nil},
	}
	for _, row := range rows {
		checkRows(t, []machineRow{{row.name, []sessionInput{row.input}, nil, row.phase, row.effects}},
			func() sessionState { return row.from })
	}
}

func TestMachineControl(t *testing.T) {
	withControl := func() sessionState {
		return runMachine([]sessionInput{register(0, false), hello(0, false, extControl)}, testEnv(nil), fresh()).state
	}
	withoutControl := func() sessionState {
		return runMachine([]sessionInput{register(0, false), hello(0, false, extPing)}, testEnv(nil), fresh()).state
	}
	checkRows(t, []machineRow{
		{"forwarded", []sessionInput{controlIn([]byte("hi"), 0)}, nil, "active", []string{"control 2B"}},
		{"largest payload", []sessionInput{controlIn(make([]byte, maxControlPayload), 0)}, nil, "active",
			[]string{"control 1024B"}},
		{"shorter than a key: closes the connection", []sessionInput{frameIn(frameControl, make([]byte, 31), 0, false)},
			nil, "closed", []string{"count protocolErrors",
				"close Control body must be a 32-byte key and at most 1024 payload bytes, got 31 bytes"}},
		{"oversized payload: closes the connection",
			[]sessionInput{frameIn(frameControl, make([]byte, 32+maxControlPayload+1), 0, false)}, nil, "closed",
			[]string{"count protocolErrors",
				"close Control body must be a 32-byte key and at most 1024 payload bytes, got 1057 bytes"}},
		{"rate limited beyond the burst, refilled over time", []sessionInput{
			controlIn([]byte("1"), 0), controlIn([]byte("2"), 0), controlIn([]byte("3"), 0),
			controlIn([]byte("4"), 999), controlIn([]byte("5"), 1_000),
		}, nil, "active", []string{"control 1B", "control 1B", "count controlRateLimited",
			"count controlRateLimited", "control 1B"}},
	}, withControl)
	checkRows(t, []machineRow{
		{"not negotiated: an unknown frame", []sessionInput{controlIn([]byte("hi"), 0)}, nil, "active",
			[]string{"count protocolErrors", `send Error "protocol error: unknown frame type Control"`}},
	}, withoutControl)
	pending := func() sessionState {
		return runMachine([]sessionInput{register(0, false)}, testEnv(requireAuth), fresh()).state
	}
	checkRows(t, []machineRow{
		{"not routed yet: a pending connection cannot send Control", []sessionInput{controlIn([]byte("x"), 0)},
			requireAuth, "closed", []string{"close auth required"}},
	}, pending)
}
