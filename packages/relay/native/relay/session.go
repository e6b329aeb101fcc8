package main

// One client connection on the relay (packages/relay/src/server/session.ts): its reader, its output queue and
// writer, backpressure. Everything else a connection may do is decided by the pure machine in handshake.go; the
// session feeds it frames and ticks and applies its effects.
//
// Hot path: one reader goroutine reads into a large buffer and decodes frames in place; each Data frame's
// destination key is overwritten with the source key in place, consecutive frames to one destination stay one
// slice, and the slices of one read are handed to each destination once (deliver). A destination with nothing
// queued is written at once from the sender's goroutine with one non-blocking writev; only what the kernel did not
// take is copied into its bounded queue, which its own writer goroutine drains. So an idle path costs no goroutine
// hand-off per frame.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type session struct {
	srv    *server
	id     int64
	conn   *net.TCPConn
	raw    syscall.RawConn
	remote string
	// The source address the penalty counts this connection against ("" for none).
	source   string
	openedAt float64
	// Float64 bits of the ms time of the last read.
	lastReceivedAt atomic.Uint64

	// mu guards the protocol machine; the atomics below mirror it for the hot path and other goroutines.
	mu        sync.Mutex
	machine   sessionState
	wakeTimer *time.Timer

	key            atomic.Pointer[[keySize]byte]
	active         atomic.Bool
	controlEnabled atomic.Bool
	closed         atomic.Bool
	// Ever routed, and whether it broke the protocol: what decides a strike against its source when it ends.
	everRouted atomic.Bool
	violated   atomic.Bool
	done       chan struct{}

	// Output. wmu guards pending, spare, writing, ending, broken and drained; queued is pending plus what the
	// writer is writing, readable without the lock.
	wmu     sync.Mutex
	pending []byte
	spare   []byte
	// The writer goroutine is writing a batch: nobody may write directly (order).
	writing bool
	// Flush, then half-close: set by a close with an Error frame and by the client's end of stream.
	ending bool
	// The socket failed or was destroyed: output is dropped.
	broken bool
	// The direct write attempt (writeNow): its callback and arguments.
	attempt        func(fd uintptr) bool
	attemptPieces  [][]byte
	attemptWritten int
	attemptErr     error
	// Closed when the queue next empties; made by a sender that pauses for this destination.
	drained    chan struct{}
	queued     atomic.Int64
	wake       chan struct{}
	writerDone chan struct{}
	// Float64 bits of the time until which nobody pauses for this destination.
	slowUntil atomic.Uint64

	// Reader-goroutine scratch: the run being built, the destinations of this read, the lookup cache.
	runDest            *session
	runStart, runEnd   int
	runFrames          int
	gathers            []gather
	pauseCandidate     *session
	cachedDest         *session
	cachedKey          [keySize]byte
	cachedVersion      uint64
	lastNoRouteErrorAt float64
}

// gather: what one read carries to one destination.
type gather struct {
	dest   *session
	pieces [][]byte
	frames int
	bytes  int
}

func newSession(srv *server, id int64, conn *net.TCPConn, source string) *session {
	now := srv.now()
	raw, _ := conn.SyscallConn()
	s := &session{
		srv:                srv,
		id:                 id,
		conn:               conn,
		raw:                raw,
		remote:             remoteOf(conn),
		source:             source,
		openedAt:           now,
		machine:            initialSessionState(now),
		done:               make(chan struct{}),
		wake:               make(chan struct{}, 1),
		writerDone:         make(chan struct{}),
		lastNoRouteErrorAt: math.Inf(-1),
	}
	s.attempt = s.tryWrite
	s.lastReceivedAt.Store(math.Float64bits(now))
	_ = conn.SetNoDelay(true)
	return s
}

// remoteOf formats the peer as Node's `${remoteAddress}:${remotePort}` does (IPv6 without brackets).
func remoteOf(conn *net.TCPConn) string {
	addr, ok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return conn.RemoteAddr().String()
	}
	ap := addr.AddrPort()
	return ap.Addr().Unmap().String() + ":" + strconv.Itoa(int(ap.Port()))
}

func (s *session) peer() any {
	key := s.key.Load()
	if key == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(key[:])
}

// struck: a strike against its source, it broke the protocol or ended without ever registering.
func (s *session) struck() bool { return s.violated.Load() || !s.everRouted.Load() }

// serve runs the connection until its socket is gone.
func (s *session) serve() {
	go s.writeLoop()
	var readErr error
	reader := newFrameReader(initialReadBuffer)
	read := s.conn.Read
	for {
		n, err := reader.fill(read)
		if n > 0 {
			if s.closed.Load() {
				reader.start = reader.end // after close only the end of stream matters
			} else {
				s.lastReceivedAt.Store(math.Float64bits(s.srv.now()))
				s.onRead(reader)
			}
		}
		if err != nil {
			readErr = err
			break
		}
	}
	if !errors.Is(readErr, io.EOF) && !errors.Is(readErr, net.ErrClosed) && !s.closed.Load() &&
		s.srv.log.enabled(levelDebug) {
		s.log(levelDebug, "socket error", field{"event", "connection-error"}, field{"errno", errnoName(readErr)},
			field{"err", readErr.Error()})
	}
	s.finish()
	if errors.Is(readErr, io.EOF) {
		// The client ended its side: what is queued for it still goes out, then the socket closes.
		s.end(nil)
		select {
		case <-s.writerDone:
		case <-time.After(s.srv.opts.closeGrace):
		}
	}
	s.destroy()
	<-s.writerDone
}

func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "ETIMEDOUT"
	}
	return ""
}

// ---- hot path ------------------------------------------------------------------------------------------------

func (s *session) onRead(r *frameReader) {
	for {
		frame := r.next()
		if frame == nil {
			break
		}
		start := r.start - len(frame)
		if frame[headerSize] == frameData && s.active.Load() {
			s.forward(r.buf, start, r.start)
			continue
		}
		// The rest of a read after a fatal error is ignored.
		if s.closed.Load() {
			continue
		}
		// Other frames are rare: what this read forwarded so far goes out first, so output order follows input.
		s.flushRun(r.buf)
		s.flushGathered()
		s.onFrame(frame[headerSize], frame[bodyOffset:])
	}
	s.flushRun(r.buf)
	s.flushGathered()
	if r.failed && !s.closed.Load() {
		s.mu.Lock()
		s.apply(nextSession(s.machine, sessionInput{
			kind: inputMalformed, message: frameLengthMessage(r.badLength), now: s.srv.now(),
		}, &s.srv.env))
		s.mu.Unlock()
	}
	if dest := s.pauseCandidate; dest != nil {
		s.pauseCandidate = nil
		s.pauseFor(dest)
	}
}

func (s *session) forward(buf []byte, start, end int) {
	stats := &s.srv.stats
	if end-start < dataHeaderSize {
		stats.drops[dropMalformed].Add(1)
		s.send(encodeError("Data frame body shorter than a 32-byte key"))
		return
	}
	destKey := buf[start+bodyOffset : start+dataHeaderSize]
	var dest *session
	// Consecutive frames mostly go to the same peer: a 32-byte compare saves the map lookup.
	version := s.srv.routesVersion.Load()
	if cached := s.cachedDest; cached != nil && s.cachedVersion == version && cached.active.Load() &&
		bytes.Equal(s.cachedKey[:], destKey) {
		dest = cached
	} else if dest = s.srv.lookup(destKey); dest != nil {
		copy(s.cachedKey[:], destKey)
		s.cachedDest, s.cachedVersion = dest, version
	}
	if dest == nil {
		stats.drops[dropNoRoute].Add(1)
		s.reportNoRoute(destKey)
		return
	}
	if dest == s {
		stats.drops[dropSelf].Add(1)
		return
	}
	// Destination → source in place: the frame leaves exactly as it came.
	copy(destKey, s.key.Load()[:])
	if s.runDest == dest && s.runEnd == start {
		s.runEnd = end
		s.runFrames++
		return
	}
	s.flushRun(buf)
	s.runDest, s.runStart, s.runEnd, s.runFrames = dest, start, end, 1
}

// flushRun moves the current run of contiguous frames into its destination's gather list.
func (s *session) flushRun(buf []byte) {
	dest := s.runDest
	if dest == nil {
		return
	}
	s.runDest = nil
	piece := buf[s.runStart:s.runEnd:s.runEnd]
	for i := range s.gathers {
		if g := &s.gathers[i]; g.dest == dest {
			g.pieces = append(g.pieces, piece)
			g.frames += s.runFrames
			g.bytes += len(piece)
			return
		}
	}
	// The gather entries and their piece lists are reused from read to read.
	if n := len(s.gathers); n < cap(s.gathers) {
		s.gathers = s.gathers[:n+1]
		g := &s.gathers[n]
		g.dest, g.pieces, g.frames, g.bytes = dest, append(g.pieces[:0], piece), s.runFrames, len(piece)
		return
	}
	s.gathers = append(s.gathers, gather{dest: dest, pieces: [][]byte{piece}, frames: s.runFrames, bytes: len(piece)})
}

// flushGathered hands each destination everything this read carried to it, in one write where the kernel takes it.
func (s *session) flushGathered() {
	if len(s.gathers) == 0 {
		return
	}
	stats := &s.srv.stats
	threshold := int64(s.srv.opts.pauseThresholdBytes)
	var frames, sent uint64
	for i := range s.gathers {
		g := &s.gathers[i]
		switch g.dest.deliver(g.pieces, g.bytes) {
		case delivered:
			frames += uint64(g.frames)
			sent += uint64(g.bytes)
			if s.pauseCandidate == nil && g.dest.queued.Load() > threshold {
				s.pauseCandidate = g.dest
			}
		case destinationGone:
			stats.drops[dropNoRoute].Add(uint64(g.frames))
		case queueFull:
			stats.drops[dropQueueFull].Add(uint64(g.frames))
		}
		clear(g.pieces)
		*g = gather{pieces: g.pieces[:0]}
	}
	s.gathers = s.gathers[:0]
	stats.framesForwarded.Add(frames)
	stats.bytesForwarded.Add(sent)
}

type deliveryResult int

const (
	delivered deliveryResult = iota
	destinationGone
	queueFull
)

// deliver takes whole frames for this connection's client (pieces of another connection's read buffer, valid only
// during the call): written at once if nothing is queued, else (and whatever the kernel did not take) copied into
// the queue, which is bounded by maxQueueBytes.
func (s *session) deliver(pieces [][]byte, size int) deliveryResult {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() || s.broken {
		return destinationGone
	}
	if s.queued.Load()+int64(size) > int64(s.srv.opts.maxQueueBytes) {
		return queueFull
	}
	s.enqueueLocked(pieces, size)
	return delivered
}

// enqueueLocked writes directly when the writer is idle, and queues the rest. Called with wmu held.
func (s *session) enqueueLocked(pieces [][]byte, size int) {
	written := 0
	if !s.writing && len(s.pending) == 0 {
		written = s.writeNow(pieces)
		if written == size {
			return
		}
	}
	skip := written
	for _, piece := range pieces {
		if skip >= len(piece) {
			skip -= len(piece)
			continue
		}
		s.pending = append(s.pending, piece[skip:]...)
		skip = 0
	}
	s.queued.Add(int64(size - written))
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// writeNow makes one non-blocking writev attempt and returns what the kernel took. A failed socket is destroyed
// (its reader then ends the session) and counts as written: its frames are dropped, as a closed socket's are.
// Called with wmu held; the attempt's arguments and results live on the session so the callback, made once, does
// not allocate per write.
func (s *session) writeNow(pieces [][]byte) int {
	s.attemptPieces, s.attemptWritten, s.attemptErr = pieces, 0, nil
	err := s.raw.Write(s.attempt)
	s.attemptPieces = nil
	if err != nil || s.attemptErr != nil {
		s.broken = true
		_ = s.conn.Close()
		total := 0
		for _, piece := range pieces {
			total += len(piece)
		}
		return total
	}
	return s.attemptWritten
}

// tryWrite is the RawConn callback: one write(2)/writev(2), never a wait for writability.
func (s *session) tryWrite(fd uintptr) bool {
	for {
		var n int
		var err error
		if len(s.attemptPieces) == 1 {
			n, err = unix.Write(int(fd), s.attemptPieces[0])
		} else {
			n, err = unix.Writev(int(fd), s.attemptPieces)
		}
		if err == unix.EINTR {
			continue
		}
		if n > 0 {
			s.attemptWritten = n
		}
		if err != nil && err != unix.EAGAIN {
			s.attemptErr = err
		}
		return true
	}
}

// writeLoop drains the queue with blocking writes until the socket goes or, ending, the queue is empty.
func (s *session) writeLoop() {
	defer close(s.writerDone)
	for {
		s.wmu.Lock()
		for len(s.pending) == 0 {
			s.writing = false
			if s.drained != nil {
				close(s.drained)
				s.drained = nil
			}
			if s.broken {
				s.wmu.Unlock()
				return
			}
			if s.ending {
				s.wmu.Unlock()
				_ = s.conn.CloseWrite()
				return
			}
			s.wmu.Unlock()
			<-s.wake
			s.wmu.Lock()
		}
		batch := s.pending
		s.pending, s.spare = s.spare[:0], nil
		s.writing = true
		s.wmu.Unlock()
		_, err := s.conn.Write(batch)
		s.queued.Add(-int64(len(batch)))
		s.wmu.Lock()
		// A burst's large buffer is not kept for an idle connection's lifetime.
		if cap(batch) <= 1<<20 {
			s.spare = batch[:0]
		}
		if err != nil {
			s.broken = true
			s.pending = s.pending[:0]
			s.queued.Store(0)
		}
		s.wmu.Unlock()
		if err != nil {
			_ = s.conn.Close()
		}
	}
}

// send queues a frame of the relay's own for the client; a client that lets its queue overflow is cut off.
func (s *session) send(frame []byte) {
	if s.closed.Load() {
		return
	}
	if s.queued.Load() > int64(s.srv.opts.maxQueueBytes) {
		s.close("send queue full", "", false, levelInfo)
		return
	}
	s.wmu.Lock()
	if !s.broken {
		s.enqueueLocked([][]byte{frame}, len(frame))
	}
	s.wmu.Unlock()
}

// end flushes the queue (with a last frame, if any) and then half-closes; the reader closes the socket once the
// client has gone too, or the grace timer does.
func (s *session) end(last []byte) {
	s.wmu.Lock()
	if !s.broken && !s.ending {
		if last != nil {
			s.enqueueLocked([][]byte{last}, len(last))
		}
		s.ending = true
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	s.wmu.Unlock()
}

// destroy closes the socket at once (what was queued is dropped).
func (s *session) destroy() {
	s.wmu.Lock()
	s.broken = true
	s.pending = s.pending[:0]
	s.queued.Store(0)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.wmu.Unlock()
	_ = s.conn.Close()
}

// pauseFor is the backpressure: this sender stops reading until dest's queue has drained, so bulk flows slow down
// end to end instead of being dropped. Bounded: after maxPause dest is slow for slowPenalty, during which nobody
// pauses for it (frames to it are dropped at the queue bound instead), so a slow reader cannot hold its senders'
// other traffic for long.
func (s *session) pauseFor(dest *session) {
	if s.srv.now() < math.Float64frombits(dest.slowUntil.Load()) {
		return
	}
	dest.wmu.Lock()
	if dest.queued.Load() <= int64(s.srv.opts.pauseThresholdBytes) || dest.broken {
		dest.wmu.Unlock()
		return
	}
	if dest.drained == nil {
		dest.drained = make(chan struct{})
	}
	drained := dest.drained
	dest.wmu.Unlock()
	timer := time.NewTimer(s.srv.opts.maxPause)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		dest.slowUntil.Store(math.Float64bits(s.srv.now() + float64(s.srv.opts.slowPenalty.Milliseconds())))
	case <-s.done:
	case <-dest.done:
	}
}

func (s *session) reportNoRoute(key []byte) {
	// One Error per second at most: a sender to a vanished peer would otherwise get one per packet.
	now := s.srv.now()
	if now-s.lastNoRouteErrorAt < 1000 {
		return
	}
	s.lastNoRouteErrorAt = now
	s.send(encodeError("no route to " + base64.StdEncoding.EncodeToString(key)))
}

// ---- the protocol machine ----------------------------------------------------------------------------------

func (s *session) onFrame(kind byte, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return
	}
	s.apply(nextSession(s.machine, sessionInput{
		kind: inputFrame, frameType: kind, body: body, now: s.srv.now(), keyTaken: s.keyTaken(kind, body),
	}, &s.srv.env))
}

// sweep is the housekeeping tick (the server's sweep and the machine's own wake-ups): deadlines, pings, idle.
func (s *session) sweep(now float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return
	}
	s.apply(nextSession(s.machine, sessionInput{
		kind: inputTick, now: now, lastReceivedAt: math.Float64frombits(s.lastReceivedAt.Load()),
		keyTaken: s.keyTaken(0, nil),
	}, &s.srv.env))
}

// keyTaken: another connection holds the key this one claims (for a Register frame: the key in its body).
func (s *session) keyTaken(kind byte, body []byte) bool {
	var key []byte
	switch {
	case s.machine.phase == phasePending || s.machine.phase == phaseProving:
		key = s.machine.key
	case s.machine.phase == phaseNew && kind == frameRegister && len(body) == keySize:
		key = body
	default:
		return false
	}
	holder := s.srv.lookup(key)
	return holder != nil && holder != s
}

// apply carries out a transition; called with mu held.
func (s *session) apply(t transition) {
	s.machine = t.state
	if len(t.state.key) == keySize && s.key.Load() == nil {
		key := [keySize]byte(t.state.key)
		s.key.Store(&key)
	}
	s.controlEnabled.Store(t.state.phase == phaseActive && containsByte(t.state.extensions, extControl))
	for _, effect := range t.effects {
		switch effect.kind {
		case effectSend:
			s.send(effect.frame)
		case effectRoute:
			s.active.Store(true)
			s.everRouted.Store(true)
			s.srv.route(effect.key, s)
		case effectClose:
			s.close(effect.reason, effect.errorText, effect.hasErrorText, effect.level)
		case effectCount:
			s.count(effect.counter)
		case effectControl:
			s.forwardControl(effect.destination, effect.payload)
		case effectLog:
			if s.srv.log.enabled(effect.level) {
				s.log(effect.level, effect.message, append([]field{{"event", effect.event}}, effect.fields...)...)
			}
		}
	}
	if t.hasWake && !s.closed.Load() {
		delay := time.Duration(max(0, t.wakeAt-s.srv.now()) * float64(time.Millisecond))
		if s.wakeTimer != nil {
			s.wakeTimer.Stop()
		}
		s.wakeTimer = time.AfterFunc(delay, func() { s.sweep(s.srv.now()) })
	}
}

func (s *session) count(counter sessionCounter) {
	stats := &s.srv.stats
	switch counter {
	case countProtocolErrors:
		s.violated.Store(true)
		stats.protocolErrors.Add(1)
	case countAuthFailures:
		s.violated.Store(true)
		stats.authFailures.Add(1)
	case countAuthSuccesses:
		stats.authSuccesses.Add(1)
	case countRefusedRegistrations:
		stats.refusedRegistrations.Add(1)
	case countUnregistered:
		stats.drops[dropUnregistered].Add(1)
	case countControlRateLimited:
		stats.drops[dropRateLimited].Add(1)
	}
}

func (s *session) forwardControl(destination, payload []byte) {
	stats := &s.srv.stats
	dest := s.srv.lookup(destination)
	switch {
	case dest == nil:
		stats.drops[dropNoRoute].Add(1)
		s.reportNoRoute(destination)
		return
	case dest == s:
		stats.drops[dropSelf].Add(1)
		return
	case !dest.controlEnabled.Load():
		stats.drops[dropNoControl].Add(1)
		return
	case dest.queued.Load() > int64(s.srv.opts.maxQueueBytes):
		stats.drops[dropQueueFull].Add(1)
		return
	}
	frame := encodeFrame(frameControl, s.key.Load()[:], payload)
	dest.wmu.Lock()
	if !dest.broken {
		dest.enqueueLocked([][]byte{frame}, len(frame))
	}
	dest.wmu.Unlock()
	stats.controlForwarded.Add(1)
}

// ---- closing -------------------------------------------------------------------------------------------------

// finish marks the session closed and takes it out of the routing table; true for the call that did it.
func (s *session) finish() bool {
	if !s.closed.CompareAndSwap(false, true) {
		return false
	}
	s.active.Store(false)
	s.controlEnabled.Store(false)
	close(s.done)
	if key := s.key.Load(); key != nil && s.everRouted.Load() {
		s.srv.unroute(key[:], s)
	}
	s.srv.forget(s)
	return true
}

// close ends the connection, telling the client why in an Error frame first when hasText.
func (s *session) close(reason, errorText string, hasText bool, level logLevel) {
	if !s.finish() {
		return
	}
	if s.srv.log.enabled(level) {
		s.log(level, "closing relay connection", field{"event", "connection-closed"}, field{"reason", reason})
	}
	if !hasText {
		s.destroy()
		return
	}
	s.end(encodeError(errorText))
	// A client that never reads (or never closes) would keep the socket half-open forever.
	time.AfterFunc(s.srv.opts.closeGrace, func() { _ = s.conn.Close() })
}

// log writes one of the connection's lines, within the relay's per-connection log budget.
func (s *session) log(level logLevel, message string, fields ...field) {
	if !s.srv.mayLog() {
		return
	}
	line := append([]field{{"conn", s.id}, {"remote", s.remote}, {"peer", s.peer()}}, fields...)
	s.srv.log.write(level, message, line)
}
