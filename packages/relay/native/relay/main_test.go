package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The program's start lines are what the lab and the benches parse; /readyz follows the relay's state.
func TestProgramStartsAndStops(t *testing.T) {
	config, err := parseConfig([]string{"--port", "0", "--http-port", "0", "--listen-address", "127.0.0.1",
		"--http-address", "127.0.0.1", "--shutdown-grace-seconds", "1"}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	log := newLogger(out, levelInfo)
	relay, err := startRelay(config, log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("start lines %q", lines)
	}
	var listening, started map[string]any
	if json.Unmarshal([]byte(lines[0]), &listening) != nil || json.Unmarshal([]byte(lines[1]), &started) != nil {
		t.Fatalf("not JSON: %q", lines)
	}
	port := float64(relay.port)
	if listening["event"] != "listening" || listening["address"] != "127.0.0.1" || listening["port"] != port ||
		listening["level"] != 30.0 || listening["component"] != "wirekube-relay" || listening["msg"] != "relay listening" {
		t.Errorf("listening line %v", listening)
	}
	httpPort := relay.http.port()
	if started["event"] != "started" || started["port"] != port || started["httpPort"] != float64(httpPort) ||
		started["requireAuth"] != false || started["extensions"] != true || started["msg"] != "wirekube-relay started" {
		t.Errorf("started line %v", started)
	}
	if !strings.HasPrefix(lines[0], `{"level":30,"time":`) {
		t.Errorf("not pino's key order: %s", lines[0])
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/nope": 404} {
		response, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = response.Body.Close()
		if response.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, response.StatusCode, want)
		}
	}
	client := dial(t, fmt.Sprintf("127.0.0.1:%d", relay.port))
	client.write(encodeFrame(frameRegister, newTestKeys(t).public))
	eventually(t, "registered", func() bool { return relay.server.registeredKeyCount() == 1 })
	stopped := make(chan struct{})
	go func() { relay.stop(); close(stopped) }()
	client.expectError(textShuttingDown)
	client.expectClosed()
	_ = client.conn.Close()
	select {
	case <-stopped:
	case <-time.After(3 * time.Second):
		t.Fatal("not stopped within the grace")
	}
	if !strings.Contains(out.String(), `"event":"closed"`) || !strings.Contains(out.String(), `"event":"stopped"`) {
		t.Errorf("stop lines missing: %s", out.String())
	}
}
