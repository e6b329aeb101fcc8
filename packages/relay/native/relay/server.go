package main

// The relay server (packages/relay/src/server/server.ts): accepts connections, owns the key → connection routing
// table, runs the housekeeping sweep, keeps the source penalty and the log budget. What a connection may do is
// decided in handshake.go; its socket and forwarding live in session.go.

import (
	"container/list"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Sources whose strikes are remembered at most; the oldest are forgotten first (memory stays bounded).
const maxTrackedSources = 65_536

// serverOptions: packages/relay/src/server/options.ts, with its defaults (defaultServerOptions).
type serverOptions struct {
	requireAuth         bool
	extensions          []byte
	maxQueueBytes       int
	pauseThresholdBytes int
	maxPause            time.Duration
	slowPenalty         time.Duration
	handshakeTimeout    time.Duration
	helloGrace          time.Duration
	idleTimeout         time.Duration
	pingInterval        time.Duration
	pingTimeout         time.Duration
	sweepInterval       time.Duration
	closeGrace          time.Duration
	controlPerSecond    float64
	controlBurst        float64
	logLinesPerSecond   float64
	logLinesBurst       float64
	penaltyBurst        float64
	penaltyPerSecond    float64
}

func defaultServerOptions() serverOptions {
	return serverOptions{
		extensions:          allExtensions,
		maxQueueBytes:       4 << 20,
		pauseThresholdBytes: 16 << 10,
		maxPause:            50 * time.Millisecond,
		slowPenalty:         time.Second,
		handshakeTimeout:    10 * time.Second,
		helloGrace:          100 * time.Millisecond,
		idleTimeout:         75 * time.Second,
		pingInterval:        2 * time.Second,
		pingTimeout:         6 * time.Second,
		sweepInterval:       time.Second,
		closeGrace:          2 * time.Second,
		controlPerSecond:    100,
		controlBurst:        200,
		logLinesPerSecond:   20,
		logLinesBurst:       200,
		penaltyBurst:        50,
		penaltyPerSecond:    5,
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type server struct {
	opts  serverOptions
	env   handshakeEnv
	log   *logger
	stats relayStats
	start time.Time

	routesMu      sync.RWMutex
	routes        map[[keySize]byte]*session
	routesVersion atomic.Uint64

	sessionsMu sync.Mutex
	sessions   map[*session]struct{}
	// Counts the sessions whose sockets are not closed yet.
	open    sync.WaitGroup
	nextID  atomic.Int64
	closing atomic.Bool

	listener  *net.TCPListener
	listening atomic.Bool
	stop      chan struct{}

	budgetMu     sync.Mutex
	budget       logBudget
	budgetConfig bucketConfig

	penaltyMu     sync.Mutex
	penaltyConfig penaltyConfig
	// Struck sources in the order first struck (list values are *penaltyEntry).
	penalties    map[string]*list.Element
	penaltyOrder *list.List
}

type penaltyEntry struct {
	source string
	record sourceRecord
}

func newServer(opts serverOptions, log *logger) *server {
	srv := &server{
		opts:         opts,
		log:          log,
		start:        time.Now(),
		routes:       map[[keySize]byte]*session{},
		sessions:     map[*session]struct{}{},
		stop:         make(chan struct{}),
		budgetConfig: bucketConfig{perSecond: opts.logLinesPerSecond, burst: opts.logLinesBurst},
		penaltyConfig: penaltyConfig{
			bucketConfig{perSecond: opts.penaltyPerSecond, burst: opts.penaltyBurst},
		},
		penalties:    map[string]*list.Element{},
		penaltyOrder: list.New(),
	}
	srv.budget = logBudget{bucket: fullBucket(srv.budgetConfig, 0)}
	srv.env = handshakeEnv{
		config: handshakeConfig{
			requireAuth:        opts.requireAuth,
			extensions:         opts.extensions,
			handshakeTimeoutMs: ms(opts.handshakeTimeout),
			helloGraceMs:       ms(opts.helloGrace),
			idleTimeoutMs:      ms(opts.idleTimeout),
			pingIntervalMs:     ms(opts.pingInterval),
			pingTimeoutMs:      ms(opts.pingTimeout),
			control:            bucketConfig{perSecond: opts.controlPerSecond, burst: opts.controlBurst},
		},
		createChallenge: newChallenge,
		verifyProof:     verifyProof,
	}
	return srv
}

// now: milliseconds on the monotonic clock since the server was made.
func (srv *server) now() float64 { return ms(time.Since(srv.start)) }

// listenNetwork keeps an IPv4 address IPv4-only, as Node binds it (Go would make 0.0.0.0 a dual-stack socket).
func listenNetwork(host string) string {
	if addr, err := netip.ParseAddr(host); err == nil && addr.Is4() {
		return "tcp4"
	}
	return "tcp"
}

// listen binds and starts accepting; the listening line carries the bound address and port.
func (srv *server) listen(host string, port int) (*net.TCPAddr, error) {
	ln, err := net.Listen(listenNetwork(host), net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	srv.listener = ln.(*net.TCPListener)
	addr := srv.listener.Addr().(*net.TCPAddr)
	srv.listening.Store(true)
	go srv.acceptLoop()
	go srv.sweepLoop()
	srv.log.info("listening", "relay listening", field{"address", addr.IP.String()}, field{"port", addr.Port})
	return addr, nil
}

func (srv *server) acceptLoop() {
	delay := 5 * time.Millisecond
	for {
		conn, err := srv.listener.AcceptTCP()
		if err != nil {
			if srv.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little instead of spinning.
			time.Sleep(delay)
			delay = min(delay*2, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		srv.accept(conn)
	}
}

func (srv *server) accept(conn *net.TCPConn) {
	if srv.closing.Load() {
		_ = conn.Close()
		return
	}
	source := ""
	if addr, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		source = sourceOf(addr.AddrPort().Addr())
	}
	if !srv.admitsSource(source) {
		srv.stats.connectionsPenalized.Add(1)
		// A reset (RST, no TIME_WAIT here) is the cheapest goodbye.
		_ = conn.SetLinger(0)
		_ = conn.Close()
		return
	}
	srv.stats.connectionsAccepted.Add(1)
	s := newSession(srv, srv.nextID.Add(1), conn, source)
	srv.sessionsMu.Lock()
	srv.sessions[s] = struct{}{}
	srv.sessionsMu.Unlock()
	srv.open.Add(1)
	go func() {
		defer srv.open.Done()
		s.serve()
	}()
}

// close stops accepting and tells every client why in an Error frame (so it reconnects, possibly to another
// replica); wait says when every socket has closed.
func (srv *server) close() (wait func()) {
	srv.closing.Store(true)
	srv.listening.Store(false)
	close(srv.stop)
	if srv.listener != nil {
		_ = srv.listener.Close()
	}
	for _, s := range srv.snapshot() {
		s.close(textShuttingDown, textShuttingDown, true, levelInfo)
	}
	return func() {
		srv.open.Wait()
		srv.log.info("closed", "relay closed")
	}
}

func (srv *server) snapshot() []*session {
	srv.sessionsMu.Lock()
	defer srv.sessionsMu.Unlock()
	out := make([]*session, 0, len(srv.sessions))
	for s := range srv.sessions {
		out = append(out, s)
	}
	return out
}

func (srv *server) sweepLoop() {
	ticker := time.NewTicker(srv.opts.sweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-srv.stop:
			return
		case <-ticker.C:
			srv.sweep()
		}
	}
}

// sweep is one housekeeping pass: every session's deadlines, forgiven sources, the suppressed-lines report.
func (srv *server) sweep() {
	now := srv.now()
	for _, s := range srv.snapshot() {
		s.sweep(now)
	}
	srv.penaltyMu.Lock()
	for e := srv.penaltyOrder.Front(); e != nil; {
		next := e.Next()
		entry := e.Value.(*penaltyEntry)
		if forgiven(entry.record, now, srv.penaltyConfig) {
			srv.penaltyOrder.Remove(e)
			delete(srv.penalties, entry.source)
		}
		e = next
	}
	srv.penaltyMu.Unlock()
	srv.budgetMu.Lock()
	var suppressed int
	srv.budget, suppressed = srv.budget.takeSuppressed()
	srv.budgetMu.Unlock()
	if suppressed > 0 {
		srv.log.warn("log-lines-suppressed", "per-connection log lines over the budget were not written",
			field{"suppressed", suppressed}, field{"perSecond", srv.budgetConfig.perSecond})
	}
}

// mayLog spends one line of the per-connection log budget: false = count it instead of writing it.
func (srv *server) mayLog() bool {
	srv.budgetMu.Lock()
	defer srv.budgetMu.Unlock()
	var write bool
	srv.budget, write = srv.budget.spend(srv.now(), srv.budgetConfig)
	return write
}

func (srv *server) lookup(key []byte) *session {
	srv.routesMu.RLock()
	defer srv.routesMu.RUnlock()
	return srv.routes[[keySize]byte(key)]
}

// route routes key to s; a previous holder is closed (it was replaced by a proven registration).
func (srv *server) route(key []byte, s *session) {
	k := [keySize]byte(key)
	srv.routesMu.Lock()
	previous := srv.routes[k]
	srv.routes[k] = s
	srv.routesVersion.Add(1)
	srv.routesMu.Unlock()
	if previous != nil && previous != s {
		srv.stats.replacements.Add(1)
		previous.close("replaced", textReplaced, true, levelInfo)
	}
}

func (srv *server) unroute(key []byte, s *session) {
	k := [keySize]byte(key)
	srv.routesMu.Lock()
	if srv.routes[k] == s {
		delete(srv.routes, k)
		srv.routesVersion.Add(1)
	}
	srv.routesMu.Unlock()
}

func (srv *server) forget(s *session) {
	srv.sessionsMu.Lock()
	delete(srv.sessions, s)
	srv.sessionsMu.Unlock()
	if s.struck() && s.source != "" && !srv.closing.Load() && !srv.penaltyConfig.off() {
		srv.strike(s.source)
	}
}

func (srv *server) admitsSource(source string) bool {
	if source == "" || srv.penaltyConfig.off() {
		return true
	}
	srv.penaltyMu.Lock()
	defer srv.penaltyMu.Unlock()
	var record *sourceRecord
	if e, ok := srv.penalties[source]; ok {
		record = &e.Value.(*penaltyEntry).record
	}
	return admits(record, srv.now(), srv.penaltyConfig)
}

func (srv *server) strike(source string) {
	now := srv.now()
	srv.penaltyMu.Lock()
	e, known := srv.penalties[source]
	var previous *sourceRecord
	if known {
		previous = &e.Value.(*penaltyEntry).record
	}
	record, penalizedNow := strike(previous, now, srv.penaltyConfig)
	if known {
		e.Value.(*penaltyEntry).record = record
	} else {
		if srv.penaltyOrder.Len() >= maxTrackedSources {
			oldest := srv.penaltyOrder.Front()
			srv.penaltyOrder.Remove(oldest)
			delete(srv.penalties, oldest.Value.(*penaltyEntry).source)
		}
		srv.penalties[source] = srv.penaltyOrder.PushBack(&penaltyEntry{source, record})
	}
	srv.penaltyMu.Unlock()
	if penalizedNow && srv.mayLog() {
		srv.log.warn("source-penalized",
			"source broke the protocol too often: its new connections are reset until it has regained strikes",
			field{"source", source}, field{"burst", srv.penaltyConfig.burst},
			field{"perSecond", srv.penaltyConfig.perSecond})
	}
}

// ---- what the metrics read -----------------------------------------------------------------------------------

func (srv *server) connectionCount() int {
	srv.sessionsMu.Lock()
	defer srv.sessionsMu.Unlock()
	return len(srv.sessions)
}

func (srv *server) registeredKeyCount() int {
	srv.routesMu.RLock()
	defer srv.routesMu.RUnlock()
	return len(srv.routes)
}

// queuedBytes: the total over all connections' send queues, and the largest one.
func (srv *server) queuedBytes() (sum, largest int64) {
	for _, s := range srv.snapshot() {
		q := s.queued.Load()
		sum += q
		largest = max(largest, q)
	}
	return sum, largest
}
