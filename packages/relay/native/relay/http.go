package main

// /metrics, /healthz and /readyz on their own port (packages/relay/src/program/http.ts), with the Node relay's
// response bodies. Go's HTTP server runs on its own goroutines, so unlike Node it needs no worker thread to keep
// scrapes off the forwarding path.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

type httpEndpoints struct {
	server   *http.Server
	listener net.Listener
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// startHTTP binds host:port (0 = an ephemeral port) and serves; ready says whether /readyz is 200.
func startHTTP(host string, port int, metrics http.Handler, ready func() bool) (*httpEndpoints, error) {
	listener, err := net.Listen(listenNetwork(host), net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready() {
			writeJSON(w, http.StatusOK, `{"status":"ready"}`)
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, `{"status":"not ready"}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, fmt.Sprintf(`{"message":%q,"error":"Not Found","statusCode":404}`,
			fmt.Sprintf("Route %s:%s not found", r.Method, r.URL.Path)))
	})
	endpoints := &httpEndpoints{
		server:   &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		listener: listener,
	}
	go func() { _ = endpoints.server.Serve(listener) }()
	return endpoints, nil
}

func (h *httpEndpoints) port() int { return h.listener.Addr().(*net.TCPAddr).Port }

func (h *httpEndpoints) close(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if h.server.Shutdown(ctx) != nil {
		_ = h.server.Close()
	}
}
