package main

// One connection to one relay address: connect, handshake (handshake.go), Keepalive every 25 s, ping liveness,
// reconnect with the 1–30 s backoff — the Node RelayClient's behaviour (packages/relay/src/client/client.ts).
//
// Goroutines: run() owns the connection's lifetime and reads frames (handshake and Data, so the handshake state
// needs no lock); a ticker goroutine per connection sends Keepalive and Ping. Writes from the proxy's readers and
// the ticker share one mutex and go out as one writev per call, which is where frames get coalesced.

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// frameSink takes the Data frames of one relay connection: deliver for each, flush before the read buffer they
// point into is reused.
type frameSink interface {
	deliver(source, datagram []byte)
	flush()
}

type clientTiming struct {
	keepalive, pingInterval, pingTimeout, connectTimeout time.Duration
	// How often the liveness read deadline is pushed out (and by how much beyond pingTimeout it lies).
	deadlineRefresh time.Duration
}

var defaultTiming = clientTiming{
	keepalive:       25 * time.Second,
	pingInterval:    2 * time.Second,
	pingTimeout:     6 * time.Second,
	connectTimeout:  10 * time.Second,
	deadlineRefresh: time.Second,
}

type relayClient struct {
	address string // host:port, as the Node client names it in logs
	config  handshakeConfig
	timing  clientTiming
	backoff backoffPolicy
	log     *logger
	// newSink gives each connection its own batch of pending datagrams (they point into that connection's buffer).
	newSink func() frameSink

	ready atomic.Bool
	// writeMu guards conn for writers; conn is nil between connections. A writer may sit in a blocked write with it
	// held, so nothing that must end that write takes writeMu first: closing goes through live (connMu), and a
	// closed socket fails the blocked write.
	writeMu sync.Mutex
	conn    net.Conn
	connMu  sync.Mutex
	live    net.Conn
	// backing holds the frame list of one writev (WriteTo consumes the slice it is given); guarded by writeMu.
	backing net.Buffers

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newRelayClient(host string, port int, config handshakeConfig, log *logger, newSink func() frameSink) *relayClient {
	address := net.JoinHostPort(host, strconv.Itoa(port))
	ctx, cancel := context.WithCancel(context.Background())
	return &relayClient{
		address: address,
		config:  config,
		timing:  defaultTiming,
		backoff: defaultBackoff,
		log: log.child(map[string]any{
			"relay": address,
			"peer":  base64.StdEncoding.EncodeToString(config.publicKey),
		}),
		newSink: newSink,
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
	}
}

func (c *relayClient) start() { go c.run() }

// close ends the connection for good and waits for run() to return, so no frame is delivered after it.
func (c *relayClient) close() {
	c.cancel()
	c.connMu.Lock()
	if c.live != nil {
		_ = c.live.Close()
	}
	c.connMu.Unlock()
	<-c.done
}

// sendFrames writes whole Data frames (one writev); false when not ready or the write failed (the frames are
// dropped, as UDP may). Blocking here is the relay's TCP back-pressure reaching WireGuard's socket buffer.
func (c *relayClient) sendFrames(frames net.Buffers) bool {
	if !c.ready.Load() {
		return false
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.conn == nil || !c.ready.Load() {
		return false
	}
	c.backing = append(c.backing[:0], frames...)
	pending := c.backing
	if _, err := pending.WriteTo(c.conn); err != nil {
		_ = c.conn.Close() // the reader sees it and reconnects
		return false
	}
	return true
}

func (c *relayClient) write(frames ...[]byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.conn == nil {
		return net.ErrClosed
	}
	buffers := net.Buffers(frames)
	_, err := buffers.WriteTo(c.conn)
	return err
}

func (c *relayClient) run() {
	defer close(c.done)
	attempt := 0
	for c.ctx.Err() == nil {
		wasReady, reason := c.connectOnce()
		if c.ctx.Err() != nil {
			return
		}
		if wasReady {
			attempt = 0
		}
		delay := c.backoff.delay(attempt, rand.Float64)
		attempt++
		c.log.warn("relay-disconnected", map[string]any{"reason": reason, "retryInMs": math.Round(float64(delay) / 1e6)}, "relay lost")
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// connectOnce runs one connection to its end; says whether it got ready and why it ended.
func (c *relayClient) connectOnce() (bool, string) {
	dialer := net.Dialer{Timeout: c.timing.connectTimeout, KeepAlive: 10 * time.Second}
	conn, err := dialer.DialContext(c.ctx, "tcp", c.address)
	if err != nil {
		return false, errnoReason(err)
	}
	c.connMu.Lock()
	if c.ctx.Err() != nil {
		c.connMu.Unlock()
		_ = conn.Close()
		return false, "closed"
	}
	c.live = conn
	c.connMu.Unlock()
	c.writeMu.Lock()
	c.conn = conn
	c.writeMu.Unlock()
	defer func() {
		c.ready.Store(false)
		// Close first: it ends a write blocked on this connection, which holds writeMu.
		_ = conn.Close()
		c.connMu.Lock()
		c.live = nil
		c.connMu.Unlock()
		c.writeMu.Lock()
		c.conn = nil
		c.writeMu.Unlock()
	}()
	return c.session(conn)
}

// errnoReason is the errno's name where there is one (ECONNREFUSED), as the Node client reports error.code.
func errnoReason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name, ok := errnoNames[errno]; ok {
			return name
		}
	}
	return err.Error()
}

var errnoNames = map[syscall.Errno]string{
	syscall.ECONNREFUSED: "ECONNREFUSED",
	syscall.ECONNRESET:   "ECONNRESET",
	syscall.ETIMEDOUT:    "ETIMEDOUT",
	syscall.EHOSTUNREACH: "EHOSTUNREACH",
	syscall.ENETUNREACH:  "ENETUNREACH",
	syscall.EPIPE:        "EPIPE",
}

func (c *relayClient) session(conn net.Conn) (bool, string) {
	sink := c.newSink()
	reader := newFrameReader()
	step := startHandshake(c.config, time.Now())
	state, err := c.apply(step, sink)
	if err != nil {
		return false, err.Error()
	}
	var stopTicker func()
	defer func() {
		if stopTicker != nil {
			stopTicker()
		}
	}()
	becomeReady := func() {
		c.ready.Store(true)
		stopTicker = c.tick(containsByte(state.extensions, extPing))
		ids := make([]int, len(state.extensions))
		for i, id := range state.extensions {
			ids[i] = int(id)
		}
		c.log.info("relay-ready", map[string]any{"via": state.via, "extensions": ids, "authenticated": state.authenticated}, "relay connection ready")
	}
	if state.phase == handshakeReady {
		becomeReady()
	}
	// Liveness without a timer of its own: with ping agreed the relay is never silent for pingTimeout, so a read
	// deadline a little beyond it (pushed out at most once per deadlineRefresh, 1 s, which keeps it off the per-read path) ends a
	// dead connection 6–7 s after its last byte, like the Node client's 6–8 s.
	var deadlineSetAt time.Time
	handshakeDeadline := false
	for {
		now := time.Now()
		switch {
		case state.phase < handshakeReady:
			_ = conn.SetReadDeadline(state.deadline)
			handshakeDeadline = true
		case containsByte(state.extensions, extPing):
			if handshakeDeadline || now.Sub(deadlineSetAt) >= c.timing.deadlineRefresh {
				_ = conn.SetReadDeadline(now.Add(c.timing.pingTimeout + c.timing.deadlineRefresh))
				deadlineSetAt, handshakeDeadline = now, false
			}
		case handshakeDeadline:
			// A core relay: no ping, so no liveness deadline (TCP keepalive is the backstop, as in Node).
			_ = conn.SetReadDeadline(time.Time{})
			handshakeDeadline = false
		}
		err := reader.fill(conn.Read)
		if err != nil && !isTimeout(err) {
			return state.phase == handshakeReady, readReason(err)
		}
		if err != nil {
			if state.phase == handshakeReady {
				c.log.warn("liveness-timeout", nil, "relay silent: reconnecting")
				return true, "liveness timeout"
			}
			if state, err = c.apply(handshakeTick(state, time.Now()), sink); err != nil {
				return false, err.Error()
			}
			if state.phase == handshakeFailed {
				return false, state.reason
			}
		}
		for {
			frame, err := reader.next()
			if err != nil {
				sink.flush()
				c.log.warn("relay-protocol-error", map[string]any{"err": err.Error()}, "bad stream from relay")
				return state.phase == handshakeReady, err.Error()
			}
			if frame == nil {
				break
			}
			kind, body := frame[headerSize], frame[bodyOffset:]
			if state.phase < handshakeReady {
				if state, err = c.apply(handshakeFrame(state, kind, body, time.Now(), c.config), sink); err != nil {
					return false, err.Error()
				}
				if state.phase == handshakeFailed {
					// Nothing after the failing frame may be taken as traffic of a ready connection.
					sink.flush()
					return false, state.reason
				}
				if state.phase == handshakeReady {
					becomeReady()
				}
				continue
			}
			c.frame(kind, body, sink, state.extensions)
		}
		sink.flush()
		if state.phase == handshakeReady && !c.ready.Load() {
			becomeReady()
		}
	}
}

// apply carries out one handshake step's effects.
func (c *relayClient) apply(step handshakeStep, sink frameSink) (handshakeState, error) {
	for _, line := range step.logs {
		c.log.emit(line)
	}
	for _, d := range step.deliver {
		sink.deliver(d.source, d.datagram)
	}
	if len(step.writes) > 0 {
		if err := c.write(step.writes...); err != nil {
			return step.state, err
		}
	}
	return step.state, nil
}

// frame handles one frame of a ready connection.
func (c *relayClient) frame(kind byte, body []byte, sink frameSink, extensions []byte) {
	switch kind {
	case frameData:
		if len(body) < keySize {
			return
		}
		source, datagram := body[:keySize], body[keySize:]
		// A core relay may echo the handshake's probe after the first reply already decided.
		if isEchoProbe(source, datagram, c.config.publicKey) {
			return
		}
		sink.deliver(source, datagram)
	case frameError:
		c.log.emit(relayErrorLog(body))
	case framePing:
		if containsByte(extensions, extPing) {
			_ = c.write(encodePong(body))
		}
	}
	// Pong only proves liveness (any read does); Control and unknown types are ignored so relays can add frames.
}

// tick sends Keepalive every 25 s (core) and, with ping agreed, a Ping every 2 s; returns its stop function.
func (c *relayClient) tick(ping bool) func() {
	stop := make(chan struct{})
	go func() {
		keepalive := time.NewTicker(c.timing.keepalive)
		defer keepalive.Stop()
		var pings <-chan time.Time
		if ping {
			ticker := time.NewTicker(c.timing.pingInterval)
			defer ticker.Stop()
			pings = ticker.C
		}
		for {
			select {
			case <-stop:
				return
			case <-keepalive.C:
				_ = c.write(keepaliveFrame)
			case <-pings:
				// The token is opaque to the relay; the monotonic ms mirrors the Node client's.
				token := make([]byte, pingTokenSize)
				binary.BigEndian.PutUint64(token, math.Float64bits(float64(monotonicNanos())/1e6))
				_ = c.write(encodePing(token))
			}
		}
	}()
	return func() { close(stop) }
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

func readReason(err error) string {
	switch {
	case errors.Is(err, net.ErrClosed):
		return "closed"
	case errors.Is(err, io.EOF):
		return "closed by peer"
	}
	return errnoReason(err)
}
