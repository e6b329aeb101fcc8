package main

// The server over loopback TCP with raw clients: routing and the key rewrite, registration and replacement by
// proof, refusals, malformed frames, the source penalty, backpressure bounds, Control, shutdown. Fast: the slow
// timers are shortened where a test needs them.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startTestServer(t *testing.T, change func(*serverOptions)) (*server, string, *syncBuffer) {
	t.Helper()
	opts := defaultServerOptions()
	opts.sweepInterval = 20 * time.Millisecond
	if change != nil {
		change(&opts)
	}
	out := &syncBuffer{}
	srv := newServer(opts, newLogger(out, levelDebug))
	addr, err := srv.listen("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		wait := srv.close()
		done := make(chan struct{})
		go func() { wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Error("sessions still open 3 s after close")
		}
	})
	return srv, addr.String(), out
}

type rawClient struct {
	t      *testing.T
	conn   net.Conn
	reader *frameReader
}

func dial(t *testing.T, address string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{t: t, conn: conn, reader: newFrameReader(initialReadBuffer)}
}

func (c *rawClient) write(frames ...[]byte) {
	c.t.Helper()
	if _, err := c.conn.Write(bytes.Join(frames, nil)); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next frame, or nil and the error once the stream ends or the wait runs out.
func (c *rawClient) next(wait time.Duration) ([]byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		if frame := c.reader.next(); frame != nil {
			return bytes.Clone(frame), nil
		}
		if _, err := c.reader.fill(c.conn.Read); err != nil {
			return nil, err
		}
	}
}

func (c *rawClient) expect(kind byte) []byte {
	c.t.Helper()
	frame, err := c.next(2 * time.Second)
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", frameTypeName(kind), err)
	}
	if frame[headerSize] != kind {
		c.t.Fatalf("got %s %q, want %s", frameTypeName(frame[headerSize]), frame[bodyOffset:], frameTypeName(kind))
	}
	return frame[bodyOffset:]
}

func (c *rawClient) expectError(prefix string) {
	c.t.Helper()
	if text := string(c.expect(frameError)); !strings.HasPrefix(text, prefix) {
		c.t.Fatalf("Error %q, want %q...", text, prefix)
	}
}

// expectClosed reads until the relay has closed the stream (frames before it are skipped).
func (c *rawClient) expectClosed() {
	c.t.Helper()
	for {
		_, err := c.next(3 * time.Second)
		if err == nil {
			continue
		}
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			c.t.Fatal("the relay did not close the connection")
		}
		return
	}
}

func (c *rawClient) expectSilence(wait time.Duration) {
	c.t.Helper()
	if frame, err := c.next(wait); err == nil {
		c.t.Fatalf("unexpected %s %q", frameTypeName(frame[headerSize]), frame[bodyOffset:])
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("not within 3 s: %s", what)
}

func registered(t *testing.T, address string, keys testKeys, srv *server, count int) *rawClient {
	t.Helper()
	c := dial(t, address)
	c.write(encodeFrame(frameRegister, keys.public))
	eventually(t, "registered", func() bool { return srv.registeredKeyCount() == count })
	return c
}

// provenClient registers with Hello(auth, ping, control) and answers the challenge.
func provenClient(t *testing.T, address string, keys testKeys) *rawClient {
	t.Helper()
	c := dial(t, address)
	c.write(encodeFrame(frameRegister, keys.public), encodeFrame(frameHello, allExtensions))
	if welcome := c.expect(frameWelcome); !bytes.Equal(welcome, allExtensions) {
		t.Fatalf("Welcome %v", welcome)
	}
	body := c.expect(frameAuthChallenge)
	c.write(encodeFrame(frameAuthProof, clientProof(t, keys, body[:keySize], body[keySize:])))
	c.expect(frameAuthOk)
	return c
}

func TestForwardingRewritesTheKey(t *testing.T) {
	srv, address, _ := startTestServer(t, nil)
	a, b := newTestKeys(t), newTestKeys(t)
	ca := registered(t, address, a, srv, 1)
	cb := registered(t, address, b, srv, 2)
	nobody := newTestKeys(t)
	ca.write(encodeFrame(frameData, b.public, []byte("one")), encodeFrame(frameData, nobody.public, []byte("x")),
		encodeFrame(frameData, b.public, []byte("two")), encodeFrame(frameData, a.public, []byte("self")),
		encodeFrame(frameData, nobody.public, []byte("y")), encodeFrame(frameData, b.public, []byte("three")))
	for _, want := range []string{"one", "two", "three"} {
		body := cb.expect(frameData)
		if !bytes.Equal(body[:keySize], a.public) || string(body[keySize:]) != want {
			t.Fatalf("got %q from %x, want %q from the sender", body[keySize:], body[:4], want)
		}
	}
	ca.expectError("no route to " + base64.StdEncoding.EncodeToString(nobody.public))
	ca.expectSilence(100 * time.Millisecond) // one no_route Error a second at most
	drops := &srv.stats.drops
	if drops[dropNoRoute].Load() != 2 || drops[dropSelf].Load() != 1 || srv.stats.framesForwarded.Load() != 3 {
		t.Errorf("no_route %d self %d forwarded %d", drops[dropNoRoute].Load(), drops[dropSelf].Load(),
			srv.stats.framesForwarded.Load())
	}
	ca.write(encodeFrame(frameData, []byte("short")))
	ca.expectError("Data frame body shorter than a 32-byte key")
	if drops[dropMalformed].Load() != 1 {
		t.Error("a short Data frame is dropped as malformed")
	}
}

func TestReplaceStaleByProof(t *testing.T) {
	srv, address, logs := startTestServer(t, nil)
	owner := newTestKeys(t)
	stale := provenClient(t, address, owner)
	eventually(t, "routed", func() bool { return srv.registeredKeyCount() == 1 })
	fresh := provenClient(t, address, owner)
	stale.expectError(textReplaced)
	stale.expectClosed()
	if srv.stats.replacements.Load() != 1 || srv.stats.authSuccesses.Load() != 2 {
		t.Errorf("replacements %d auth ok %d", srv.stats.replacements.Load(), srv.stats.authSuccesses.Load())
	}
	thief := dial(t, address)
	thief.write(encodeFrame(frameRegister, owner.public))
	thief.expectError(textKeyTaken)
	thief.expectClosed()
	if srv.stats.refusedRegistrations.Load() != 1 {
		t.Error("the unproven registration of a held key is counted as refused")
	}
	// The holder still receives.
	sender := registered(t, address, newTestKeys(t), srv, 2)
	sender.write(encodeFrame(frameData, owner.public, []byte("still here")))
	if body := fresh.expect(frameData); string(body[keySize:]) != "still here" {
		t.Fatalf("got %q", body[keySize:])
	}
	if !strings.Contains(logs.String(), `"event":"connection-closed","reason":"replaced"`) {
		t.Error("the replaced connection's close is logged")
	}
}

func TestRequireAuthRefusesACoreClientWithinTheGrace(t *testing.T) {
	_, address, _ := startTestServer(t, func(o *serverOptions) { o.requireAuth = true })
	c := dial(t, address)
	started := time.Now()
	c.write(encodeFrame(frameRegister, newTestKeys(t).public))
	c.expectError(textAuthRequired)
	if elapsed := time.Since(started); elapsed > time.Second {
		t.Errorf("refused after %v, not at the end of the 100 ms grace", elapsed)
	}
	c.expectClosed()
}

func TestForgedProofIsRefused(t *testing.T) {
	srv, address, _ := startTestServer(t, func(o *serverOptions) { o.requireAuth = true })
	c := dial(t, address)
	c.write(encodeFrame(frameRegister, newTestKeys(t).public), encodeFrame(frameHello, []byte{extAuth}))
	c.expect(frameWelcome)
	c.expect(frameAuthChallenge)
	c.write(encodeFrame(frameAuthProof, make([]byte, proofSize)))
	c.expectError("authentication failed")
	c.expectClosed()
	if srv.stats.authFailures.Load() != 1 {
		t.Error("counted as a failed proof")
	}
}

func TestNoExtensionsAnswersHelloWithAnError(t *testing.T) {
	srv, address, _ := startTestServer(t, func(o *serverOptions) { o.extensions = nil })
	c := dial(t, address)
	keys := newTestKeys(t)
	c.write(encodeFrame(frameRegister, keys.public), encodeFrame(frameHello, allExtensions),
		encodeFrame(frameData, keys.public, []byte{0}))
	c.expectError("protocol error: unknown frame type Hello")
	c.write(encodeFrame(frameKeepalive))
	c.expectSilence(100 * time.Millisecond)
	eventually(t, "the echo probe is dropped as self", func() bool { return srv.stats.drops[dropSelf].Load() == 1 })
	if srv.registeredKeyCount() != 1 {
		t.Error("the core client stays registered")
	}
}

func TestMalformedFramesCloseOnlyThatConnection(t *testing.T) {
	srv, address, _ := startTestServer(t, nil)
	a, b := newTestKeys(t), newTestKeys(t)
	ca := registered(t, address, a, srv, 1)
	cb := registered(t, address, b, srv, 2)
	garbage := dial(t, address)
	garbage.write([]byte("GET / HTTP/1.1\r\n\r\n"))
	garbage.expectClosed() // no Error frame: it does not speak the framing
	ca.write([]byte{0, 0, 0, 0})
	ca.expectError("protocol error: frame length 0 outside 1..65536")
	ca.expectClosed()
	sender := registered(t, address, newTestKeys(t), srv, 2)
	sender.write(encodeFrame(frameData, b.public, []byte("fine")))
	cb.expect(frameData)
	if srv.stats.protocolErrors.Load() != 2 {
		t.Errorf("protocol errors %d", srv.stats.protocolErrors.Load())
	}
}

func TestSourcePenaltyClosesAtAccept(t *testing.T) {
	srv, address, logs := startTestServer(t, func(o *serverOptions) {
		o.penaltyBurst, o.penaltyPerSecond = 2, 0.001
	})
	for range 2 {
		c := dial(t, address)
		c.write([]byte{0xff, 0xff, 0xff, 0xff})
		c.expectClosed()
	}
	eventually(t, "both strikes spent", func() bool { return !srv.admitsSource("127.0.0.1") })
	// Closed right after accept, with a reset: the connect itself may already see it.
	if conn, err := net.Dial("tcp", address); err == nil {
		refused := &rawClient{t: t, conn: conn, reader: newFrameReader(initialReadBuffer)}
		refused.expectClosed()
		_ = conn.Close()
	}
	eventually(t, "counted", func() bool { return srv.stats.connectionsPenalized.Load() == 1 })
	if srv.stats.connectionsPenalized.Load() != 1 || srv.stats.connectionsAccepted.Load() != 2 {
		t.Errorf("penalized %d accepted %d", srv.stats.connectionsPenalized.Load(), srv.stats.connectionsAccepted.Load())
	}
	if n := strings.Count(logs.String(), `"event":"source-penalized","source":"127.0.0.1","burst":2`); n != 1 {
		t.Errorf("%d source-penalized lines, want 1", n)
	}
}

func TestControlRouting(t *testing.T) {
	srv, address, _ := startTestServer(t, nil)
	a, b, core := newTestKeys(t), newTestKeys(t), newTestKeys(t)
	ca, cb := provenClient(t, address, a), provenClient(t, address, b)
	registered(t, address, core, srv, 3)
	ca.write(encodeFrame(frameControl, b.public, []byte("upgrade?")), encodeFrame(frameControl, core.public, []byte("x")))
	body := cb.expect(frameControl)
	if !bytes.Equal(body[:keySize], a.public) || string(body[keySize:]) != "upgrade?" {
		t.Fatalf("Control %q", body)
	}
	eventually(t, "no_control counted", func() bool { return srv.stats.drops[dropNoControl].Load() == 1 })
	if srv.stats.controlForwarded.Load() != 1 {
		t.Error("one Control delivered")
	}
}

// A destination that never reads: its queue stays within the bound, the rest is dropped as queue_full, and the
// sender's other traffic keeps flowing (pauses for the slow reader end after maxPause).
func TestBackpressureIsBounded(t *testing.T) {
	srv, address, _ := startTestServer(t, func(o *serverOptions) { o.maxQueueBytes = 256 << 10 })
	sender, stuck, other := newTestKeys(t), newTestKeys(t), newTestKeys(t)
	cs := registered(t, address, sender, srv, 1)
	stuckConn := registered(t, address, stuck, srv, 2)
	_ = stuckConn.conn.(*net.TCPConn).SetReadBuffer(4096)
	co := registered(t, address, other, srv, 3)
	datagram := make([]byte, 1400)
	burst := bytes.Repeat(encodeFrame(frameData, stuck.public, datagram), 64)
	deadline := time.Now().Add(5 * time.Second)
	for srv.stats.drops[dropQueueFull].Load() == 0 && time.Now().Before(deadline) {
		cs.write(burst)
	}
	if srv.stats.drops[dropQueueFull].Load() == 0 {
		t.Fatal("no queue_full drops for a destination that never reads")
	}
	if _, largest := srv.queuedBytes(); largest > 256<<10 {
		t.Errorf("queue of %d bytes over the bound", largest)
	}
	cs.write(encodeFrame(frameData, other.public, []byte("through")))
	if body := co.expect(frameData); string(body[keySize:]) != "through" {
		t.Fatalf("got %q", body[keySize:])
	}
}

func TestShutdownTellsEveryClient(t *testing.T) {
	opts := defaultServerOptions()
	srv := newServer(opts, newLogger(io.Discard, levelInfo))
	addr, err := srv.listen("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	a := registered(t, addr.String(), newTestKeys(t), srv, 1)
	pending := dial(t, addr.String())
	eventually(t, "both accepted", func() bool { return srv.connectionCount() == 2 })
	wait := srv.close()
	for _, c := range []*rawClient{a, pending} {
		c.expectError(textShuttingDown)
		c.expectClosed()
		_ = c.conn.Close() // as a client does on the relay's end of stream; else the 2 s grace closes it
	}
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("sockets still open after the clients closed theirs")
	}
	if _, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		t.Error("still accepting after close")
	}
}

// Random byte streams (well-framed and not, Control and extension frames among them) from 48 connections at once
// while a pair keeps forwarding: nothing crashes, every steady frame arrives in order, the fuzz connections are all
// cleaned up.
func TestFuzzConnectionsLeaveTheSteadyPairAlone(t *testing.T) {
	srv, address, _ := startTestServer(t, func(o *serverOptions) { o.penaltyBurst = 0 })
	a, b := newTestKeys(t), newTestKeys(t)
	ca := registered(t, address, a, srv, 1)
	cb := registered(t, address, b, srv, 2)
	rng := rand.New(rand.NewPCG(7, 11))
	kinds := []byte{frameRegister, frameData, frameKeepalive, frameError, frameHello, frameAuthProof, framePing,
		framePong, frameControl, 0x42}
	streams := make([][]byte, 48)
	for i := range streams {
		var stream []byte
		for range 1 + rng.IntN(20) {
			switch rng.IntN(4) {
			case 0: // raw garbage
				junk := make([]byte, rng.IntN(200))
				for j := range junk {
					junk[j] = byte(rng.IntN(256))
				}
				stream = append(stream, junk...)
			default: // a well-framed frame of a random kind, sometimes aimed at the steady pair
				body := make([]byte, rng.IntN(80))
				if rng.IntN(2) == 0 && len(body) >= keySize {
					copy(body, b.public)
				}
				stream = append(stream, encodeFrame(kinds[rng.IntN(len(kinds))], body)...)
			}
		}
		streams[i] = stream
	}
	var wg sync.WaitGroup
	for _, stream := range streams {
		wg.Go(func() {
			conn, err := net.Dial("tcp", address)
			if err != nil {
				return
			}
			defer conn.Close()
			for len(stream) > 0 { // cut anywhere
				n := min(len(stream), 1+rand.IntN(64))
				if _, err := conn.Write(stream[:n]); err != nil {
					return
				}
				stream = stream[n:]
			}
			_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, _ = io.Copy(io.Discard, conn)
		})
	}
	for i := range 200 {
		ca.write(encodeFrame(frameData, b.public, []byte{byte(i)}))
	}
	for i := range 200 {
		body := cb.expect(frameData)
		if !bytes.Equal(body[:keySize], a.public) || body[keySize] != byte(i) {
			t.Fatalf("steady frame %d: got %d", i, body[keySize])
		}
	}
	wg.Wait()
	eventually(t, "fuzz connections cleaned up", func() bool { return srv.connectionCount() == 2 })
	ca.write(encodeFrame(frameData, b.public, []byte("after")))
	if body := cb.expect(frameData); string(body[keySize:]) != "after" {
		t.Fatalf("after the fuzz: %q", body[keySize:])
	}
}
