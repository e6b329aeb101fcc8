// Command wirekube-relay is the Go implementation of the WireKube relay program, a drop-in for the Node relay
// (`node packages/relay/dist/main.js`): the same flags and variables, wire protocol, registration rules, source
// penalty, log events and metrics. It exists for the relayed path's latency: a Go process crossing costs about
// half a Node one (packages/relay/README.md, "Go hop"; this module's README has the measurements).
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)) }

func run(argv []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	config, err := parseConfig(argv, env)
	if err != nil {
		fmt.Fprintf(stderr, "wirekube-relay: %s\n\n%s", err, usage)
		return 2
	}
	if config == nil {
		fmt.Fprint(stdout, usage)
		return 0
	}
	// A closed stdout pipe must not end the relay (Go dies of SIGPIPE on fd 1 and 2 unless it is handled).
	signal.Ignore(syscall.SIGPIPE)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	log := newLogger(stdout, config.logLevel)
	relay, err := startRelay(config, log)
	if err != nil {
		fmt.Fprintf(stderr, "wirekube-relay: %s\n", err)
		return 1
	}
	sig := <-signals
	// Like the Node relay's process.once: a second signal during the graceful stop ends the process at once.
	signal.Stop(signals)
	name := "SIGTERM"
	if sig == syscall.SIGINT {
		name = "SIGINT"
	}
	log.info("signal", "shutting down", field{"signal", name})
	relay.stop()
	return 0
}

// runningRelay: the relay and its HTTP endpoints (packages/relay/src/program/run.ts).
type runningRelay struct {
	server   *server
	http     *httpEndpoints
	port     int
	stopping atomic.Bool
	grace    time.Duration
	log      *logger
}

func serverOptionsOf(config *programConfig) serverOptions {
	opts := defaultServerOptions()
	opts.requireAuth = config.requireAuth
	if !config.extensions {
		opts.extensions = nil
	}
	opts.maxQueueBytes = config.maxQueueBytes
	opts.penaltyBurst = float64(config.sourcePenaltyBurst)
	opts.penaltyPerSecond = float64(config.sourcePenaltyPerSecond)
	return opts
}

// startRelay starts the HTTP endpoints, then the relay, and writes the `started` line the lab and benches wait for.
func startRelay(config *programConfig, log *logger) (*runningRelay, error) {
	relay := &runningRelay{
		server: newServer(serverOptionsOf(config), log),
		grace:  time.Duration(config.shutdownGraceSeconds) * time.Second,
		log:    log,
	}
	endpoints, err := startHTTP(config.httpAddress, config.httpPort, metricsHandler(newRelayMetrics(relay.server)),
		func() bool { return relay.server.listening.Load() && !relay.stopping.Load() })
	if err != nil {
		return nil, fmt.Errorf("http listen %s:%d: %w", config.httpAddress, config.httpPort, err)
	}
	relay.http = endpoints
	addr, err := relay.server.listen(config.listenAddress, config.port)
	if err != nil {
		endpoints.close(time.Second)
		return nil, fmt.Errorf("listen %s:%d: %w", config.listenAddress, config.port, err)
	}
	relay.port = addr.Port
	log.info("started", "wirekube-relay started", field{"port", addr.Port}, field{"httpPort", endpoints.port()},
		field{"requireAuth", config.requireAuth}, field{"extensions", config.extensions})
	return relay, nil
}

// stop: readiness goes false, every client gets `relay shutting down`, sockets close (or the grace runs out), then
// the HTTP server stops.
func (r *runningRelay) stop() {
	if !r.stopping.CompareAndSwap(false, true) {
		return
	}
	wait := r.server.close()
	closed := make(chan struct{})
	go func() {
		wait()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(r.grace):
	}
	r.http.close(2 * time.Second)
	r.log.info("stopped", "wirekube-relay stopped")
}
