package main

import (
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestMetricsTextWritesWholeValuesAsIntegers(t *testing.T) {
	in := "# HELP x_total Help.\n# TYPE x_total counter\nx_total 3.38014239e+08\ny{a=\"b c\"} 0.25\nz 1e+06\nw -2\n"
	want := "# HELP x_total Help.\n# TYPE x_total counter\nx_total 338014239\ny{a=\"b c\"} 0.25\nz 1000000\nw -2\n"
	if got := string(integralValues([]byte(in))); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// testdata/node-metrics-help-type.txt holds the HELP and TYPE lines the Node relay's /metrics serves (prom-client,
// 2026-12-02), minus Node's own runtime metrics (nodejs_*, process_heap_bytes). Every one must be served as is.
func TestMetricsMatchTheNodeRelay(t *testing.T) {
	golden, err := os.ReadFile("testdata/node-metrics-help-type.txt")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(defaultServerOptions(), newLogger(io.Discard, levelInfo))
	recorder := httptest.NewRecorder()
	metricsHandler(newRelayMetrics(srv))(recorder, httptest.NewRequest("GET", "/metrics", nil))
	body := recorder.Body.String()
	if got := recorder.Header().Get("Content-Type"); got != metricsContentType {
		t.Errorf("content type %q", got)
	}
	for line := range strings.Lines(string(golden)) {
		if !strings.Contains(body, line) {
			t.Errorf("missing %q", strings.TrimSpace(line))
		}
	}
	for _, sample := range []string{
		"wirekube_relay_dropped_frames_total{reason=\"no_control\"} 0\n",
		"wirekube_relay_queue_bytes{aggregate=\"max\"} 0\n",
		"wirekube_relay_registrations_total{outcome=\"replaced\"} 0\n",
		"wirekube_relay_auth_total{result=\"failed\"} 0\n",
	} {
		if !strings.Contains(body, sample) {
			t.Errorf("missing sample %q", sample)
		}
	}
}
