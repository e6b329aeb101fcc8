// Command wirekube-relay-link is the Go implementation of the agent's relay-link process: it holds the node's relay
// connection(s) and the loopback UDP proxy WireGuard sends relayed peers' datagrams to, driven by the agent over a
// unix socket with the same protocol as the Node relay-link (`wirekube-agent relay-link`). It exists because each
// Node process crossing on the relayed path costs about twice a Go one (packages/relay/README.md, "Go hop").
//
//	wirekube-relay-link [relay-link] [--socket PATH] [--log-level LEVEL]
//
// The optional leading `relay-link` lets the agent start it with the same arguments it gives its own binary.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const defaultSocket = "/run/wirekube/relay-link.sock"

const usage = `wirekube-relay-link [relay-link] [options]
  hold this node's relay connection and WireGuard's loopback proxy, driven by the agent

  --socket PATH      WIREKUBE_RELAY_LINK_SOCKET  the socket to serve; default: ` + defaultSocket + `
  --log-level LEVEL  LOG_LEVEL                   trace|debug|info|warn|error|fatal|silent; default: info
`

type options struct {
	socket   string
	logLevel logLevel
}

func parseArgs(args []string, env func(string) string) (options, error) {
	if len(args) > 0 && args[0] == "relay-link" {
		args = args[1:]
	}
	socket, level := env("WIREKUBE_RELAY_LINK_SOCKET"), env("LOG_LEVEL")
	for i := 0; i < len(args); i++ {
		name := args[i]
		switch name {
		case "-h", "--help":
			return options{}, errHelp
		case "--socket", "--log-level":
			if i+1 >= len(args) {
				return options{}, fmt.Errorf("%s needs a value", name)
			}
			i++
			if name == "--socket" {
				socket = args[i]
			} else {
				level = args[i]
			}
		default:
			return options{}, fmt.Errorf("unknown argument %q", name)
		}
	}
	if socket == "" {
		socket = defaultSocket
	}
	parsed, err := parseLogLevel(level)
	if err != nil {
		return options{}, err
	}
	return options{socket: socket, logLevel: parsed}, nil
}

var errHelp = fmt.Errorf("help")

func main() { os.Exit(run()) }

func run() int {
	opts, err := parseArgs(os.Args[1:], os.Getenv)
	if err == errHelp {
		fmt.Print(usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s\n%s", err, usage)
		return 2
	}
	log := newLogger(os.Stdout, opts.logLevel, map[string]any{"component": "wirekube-relay-link"})
	stopped := make(chan string, 1)
	server := &linkServer{
		socketPath: opts.socket,
		log:        log,
		resolve:    systemResolve,
		onStop: func() {
			select {
			case stopped <- "stop-request":
			default:
			}
		},
	}
	// Started detached by an agent that may be gone: a broken stdout must not end the process (SIGPIPE on a
	// closed pipe would; Go only dies of it on fds 1 and 2 unless it is handled).
	signal.Ignore(syscall.SIGPIPE)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	if err := server.listen(); err != nil {
		log.log(levelError, "relay-link-failed", map[string]any{"err": err.Error(), "socket": opts.socket}, "relay-link cannot serve its socket")
		return 1
	}
	log.info("relay-link-started", map[string]any{"pid": os.Getpid(), "socket": opts.socket}, "relay-link started")
	var reason string
	select {
	case reason = <-stopped:
	case sig := <-signals:
		reason = sig.String()
		if sig == syscall.SIGTERM {
			reason = "SIGTERM"
		} else if sig == syscall.SIGINT {
			reason = "SIGINT"
		}
	}
	log.info("shutdown", map[string]any{"reason": reason}, "relay-link stopping")
	server.close()
	return 0
}
