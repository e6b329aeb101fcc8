package main

import (
	"bytes"
	"crypto/ecdh"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// recordingSink keeps what a relay connection delivers.
type recordingSink struct {
	mu      sync.Mutex
	got     [][]byte
	flushes int
}

func (s *recordingSink) deliver(source, datagram []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, append(append([]byte(nil), source...), datagram...))
}

func (s *recordingSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushes++
}

// fakeRelay accepts connections and hands each to the test as a frame reader/writer.
type fakeRelay struct {
	listener *net.TCPListener
	accepted chan net.Conn
}

func startFakeRelay(t *testing.T) *fakeRelay {
	t.Helper()
	listener, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRelay{listener: listener, accepted: make(chan net.Conn, 4)}
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			r.accepted <- conn
		}
	}()
	t.Cleanup(func() { _ = listener.Close() })
	return r
}

func (r *fakeRelay) port() int { return r.listener.Addr().(*net.TCPAddr).Port }

func (r *fakeRelay) next(t *testing.T, within time.Duration) net.Conn {
	t.Helper()
	select {
	case conn := <-r.accepted:
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	case <-time.After(within):
		t.Fatalf("no connection within %v", within)
		return nil
	}
}

// readFrame reads one whole frame off a connection (the fake relay's side).
func readFrame(t *testing.T, conn net.Conn) (byte, []byte) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	header := make([]byte, headerSize)
	if _, err := io.ReadFull(conn, header); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	length := int(header[0])<<24 | int(header[1])<<16 | int(header[2])<<8 | int(header[3])
	rest := make([]byte, length)
	if _, err := io.ReadFull(conn, rest); err != nil {
		t.Fatalf("reading a frame body: %v", err)
	}
	return rest[0], rest[1:]
}

func testClient(t *testing.T, relay *fakeRelay, offer []byte, sink *recordingSink) *relayClient {
	t.Helper()
	config := testConfig(t, offer)
	c := newRelayClient("127.0.0.1", relay.port(), config, newLogger(io.Discard, levelOff, nil), func() frameSink { return sink })
	c.timing = clientTiming{keepalive: time.Hour, pingInterval: 50 * time.Millisecond, pingTimeout: 150 * time.Millisecond, connectTimeout: time.Second, deadlineRefresh: 50 * time.Millisecond}
	c.backoff = backoffPolicy{initial: 20 * time.Millisecond, max: 100 * time.Millisecond}
	c.start()
	t.Cleanup(c.close)
	return c
}

func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The opening, Welcome(ping), Data both ways, the relay's Ping answered, our own Pings; then the relay goes silent
// and the client replaces the connection after pingTimeout (plus the deadline slack) and the backoff.
func TestClientPingsAnswersAndReplacesASilentRelay(t *testing.T) {
	relay := startFakeRelay(t)
	sink := &recordingSink{}
	c := testClient(t, relay, []byte{extPing}, sink)
	conn := relay.next(t, time.Second)
	if kind, body := readFrame(t, conn); kind != frameRegister || !bytes.Equal(body, c.config.publicKey) {
		t.Fatalf("first frame %x %x", kind, body)
	}
	if kind, body := readFrame(t, conn); kind != frameHello || !bytes.Equal(body, []byte{extPing}) {
		t.Fatalf("second frame %x %x", kind, body)
	}
	if kind, _ := readFrame(t, conn); kind != frameData {
		t.Fatalf("third frame %x, want the echo probe", kind)
	}
	other := seq(32, 0x40)
	if _, err := conn.Write(append(append(encodeFrame(frameWelcome, []byte{extPing}), encodeData(other, []byte("hi"))...), encodePing(seq(8, 9))...)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ready", c.ready.Load)
	eventually(t, "the datagram", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.got) == 1 && bytes.Equal(sink.got[0], append(append([]byte(nil), other...), "hi"...))
	})
	if !c.sendFrames(net.Buffers{encodeData(other, []byte("yo"))}) {
		t.Fatal("send refused while ready")
	}
	var sawPong, sawPing, sawData bool
	for !sawPong || !sawPing || !sawData {
		kind, body := readFrame(t, conn)
		switch kind {
		case framePong:
			sawPong = bytes.Equal(body, seq(8, 9))
		case framePing:
			sawPing = len(body) == pingTokenSize
		case frameData:
			sawData = bytes.Equal(body, append(append([]byte(nil), other...), "yo"...))
		}
	}
	// Silence from here on: the client must give up on this connection and come back.
	started := time.Now()
	second := relay.next(t, 2*time.Second)
	if waited := time.Since(started); waited < 100*time.Millisecond {
		t.Fatalf("reconnected after %v, before the liveness timeout", waited)
	}
	if kind, _ := readFrame(t, second); kind != frameRegister {
		t.Fatalf("second connection opened with %x", kind)
	}
	if c.ready.Load() {
		t.Fatal("still ready after losing the connection")
	}
}

// A relay that answers the proof with AuthOk: the client sends exactly the proof computeProof gives.
func TestClientProvesOwnershipWhenAuthIsAgreed(t *testing.T) {
	relay := startFakeRelay(t)
	sink := &recordingSink{}
	c := testClient(t, relay, []byte{extAuth, extPing}, sink)
	conn := relay.next(t, time.Second)
	for range 3 {
		readFrame(t, conn)
	}
	challenge := append(seq(32, 0x80), seq(32, 0xa0)...)
	e, err := ecdh.X25519().NewPrivateKey(seq(32, 0x80))
	if err != nil {
		t.Fatal(err)
	}
	copy(challenge, e.PublicKey().Bytes())
	if _, err := conn.Write(append(encodeFrame(frameWelcome, []byte{extAuth, extPing}), encodeFrame(frameAuthChallenge, challenge)...)); err != nil {
		t.Fatal(err)
	}
	kind, proof := readFrame(t, conn)
	want, _ := computeProof(c.config.privateKey, c.config.publicKey, challenge[:32], challenge[32:])
	if kind != frameAuthProof || !bytes.Equal(proof, want) {
		t.Fatalf("got %x %x, want the proof %x", kind, proof, want)
	}
	if c.ready.Load() {
		t.Fatal("ready before AuthOk")
	}
	if _, err := conn.Write(encodeFrame(frameAuthOk, nil)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ready", c.ready.Load)
}

// Nothing listens: the client keeps retrying with its backoff and is never ready; close() ends it promptly.
func TestClientRetriesARefusedRelayAndClosesPromptly(t *testing.T) {
	listener, _ := net.Listen("tcp4", "127.0.0.1:0")
	port := listener.Addr().(*net.TCPAddr).Port
	_ = listener.Close()
	c := newRelayClient("127.0.0.1", port, testConfig(t, nil), newLogger(io.Discard, levelOff, nil), func() frameSink { return &recordingSink{} })
	c.backoff = backoffPolicy{initial: 10 * time.Millisecond, max: 20 * time.Millisecond}
	c.start()
	time.Sleep(100 * time.Millisecond)
	if c.ready.Load() || c.sendFrames(net.Buffers{encodeData(seq(32, 0), nil)}) {
		t.Fatal("ready without a relay")
	}
	done := make(chan struct{})
	go func() { c.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("close did not return")
	}
	if c.address != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("address %s", c.address)
	}
}

// A failed handshake (a malformed challenge) ends the attempt there: Data behind it in the same read is never
// delivered, and the client comes back with a fresh connection.
func TestClientDropsWhatFollowsAFailedHandshake(t *testing.T) {
	relay := startFakeRelay(t)
	sink := &recordingSink{}
	c := testClient(t, relay, []byte{extAuth, extPing}, sink)
	conn := relay.next(t, time.Second)
	for range 3 {
		readFrame(t, conn)
	}
	burst := append(encodeFrame(frameWelcome, []byte{extAuth}), encodeFrame(frameAuthChallenge, seq(10, 0))...)
	burst = append(burst, encodeData(seq(32, 0x40), []byte("must not arrive"))...)
	if _, err := conn.Write(burst); err != nil {
		t.Fatal(err)
	}
	second := relay.next(t, 2*time.Second)
	if kind, _ := readFrame(t, second); kind != frameRegister {
		t.Fatalf("second connection opened with %x", kind)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.got) != 0 || c.ready.Load() {
		t.Fatalf("delivered %d datagrams, ready %v after a failed handshake", len(sink.got), c.ready.Load())
	}
}
