package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Taken from packages/agent/test/relay-link/protocol.test.ts: the same requests, the same fields named.
const testKey = "hN5mQ1cV4yR0h3W0kZb6Gm3l1n7GdQb8t4Xv9p2JqWs="

func request(t *testing.T, patch func(map[string]any)) string {
	t.Helper()
	target := map[string]any{"host": "192.0.2.1", "port": 3478, "pool": false, "source": "external"}
	desired := map[string]any{"target": target, "peers": []any{testKey}, "wireguardPort": 51820}
	keys := map[string]any{"publicKey": testKey, "privateKey": testKey}
	o := map[string]any{"type": "set", "desired": desired, "keys": keys}
	if patch != nil {
		patch(o)
	}
	text, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

func desiredOf(o map[string]any) map[string]any { return o["desired"].(map[string]any) }
func targetOf(o map[string]any) map[string]any  { return desiredOf(o)["target"].(map[string]any) }

func TestDecodeRequestAcceptsWhatTheNodeClientSends(t *testing.T) {
	r, err := decodeRequest([]byte(request(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := relayTarget{Host: "192.0.2.1", Port: 3478, Pool: false, Source: "external"}
	if r.Type != "set" || *r.Desired.Target != want || r.Desired.WireguardPort != 51820 || r.Desired.Peers[0] != testKey || r.Keys.PrivateKey != testKey {
		t.Fatalf("decoded %+v", r)
	}
	r, err = decodeRequest([]byte(request(t, func(o map[string]any) { delete(desiredOf(o), "target") })))
	if err != nil || r.Desired.Target != nil {
		t.Fatalf("no target: %+v %v", r, err)
	}
	for _, line := range []string{`{"type":"hello","version":1}`, `{"type":"view"}`, `{"type":"stop"}`, ` {"type":"view","extra":1} `} {
		if _, err := decodeRequest([]byte(line)); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
}

func TestDecodeRequestNamesTheBadField(t *testing.T) {
	cases := []struct {
		name, line, field string
	}{
		{"not JSON", "nope", "message"},
		{"an array", "[]", "message"},
		{"unknown type", `{"type":"launch"}`, "type"},
		{"no type", `{}`, "type"},
		{"hello without version", `{"type":"hello"}`, "version"},
		{"hello version 0", `{"type":"hello","version":0}`, "version"},
		{"hello version 1.5", `{"type":"hello","version":1.5}`, "version"},
		{"set without desired", `{"type":"set","keys":{}}`, "desired"},
		{"peers not an array", request(t, func(o map[string]any) { desiredOf(o)["peers"] = "x" }), "desired.peers"},
		{"a peer not a key", request(t, func(o map[string]any) { desiredOf(o)["peers"] = []any{testKey, "abc"} }), "desired.peers[1]"},
		{"port 0", request(t, func(o map[string]any) { desiredOf(o)["wireguardPort"] = 0 }), "desired.wireguardPort"},
		{"port text", request(t, func(o map[string]any) { desiredOf(o)["wireguardPort"] = "1" }), "desired.wireguardPort"},
		{"target null", request(t, func(o map[string]any) { desiredOf(o)["target"] = nil }), "desired.target"},
		{"target host", request(t, func(o map[string]any) { targetOf(o)["host"] = "a b" }), "desired.target.host"},
		{"target port", request(t, func(o map[string]any) { targetOf(o)["port"] = 70000 }), "desired.target.port"},
		{"target pool", request(t, func(o map[string]any) { targetOf(o)["pool"] = "no" }), "desired.target.pool"},
		{"target source", request(t, func(o map[string]any) { targetOf(o)["source"] = "dns" }), "desired.target.source"},
		{"keys missing", request(t, func(o map[string]any) { delete(o, "keys") }), "keys"},
		{"private key bad", request(t, func(o map[string]any) { o["keys"].(map[string]any)["privateKey"] = "x" }), "keys.privateKey"},
	}
	for _, c := range cases {
		_, err := decodeRequest([]byte(c.line))
		perr, ok := err.(*protocolError)
		if !ok {
			t.Errorf("%s: got %v, want a protocol error", c.name, err)
			continue
		}
		if perr.field != c.field || perr.code != "bad-message" || !strings.HasPrefix(perr.Error(), c.field+": ") {
			t.Errorf("%s: field %q code %q message %q, want field %q", c.name, perr.field, perr.code, perr.Error(), c.field)
		}
	}
}

// The replies as the Node decoder (decodeReply) expects them: absent ages left out, empty lists as [] not null.
func TestEncodeReplyShapes(t *testing.T) {
	age := 12.5
	cases := []struct {
		reply linkReply
		want  string
	}{
		{linkReply{Type: "hello", Version: 1, Pid: 42}, `{"type":"hello","version":1,"pid":42}`},
		{linkReply{Type: "stopping"}, `{"type":"stopping"}`},
		{linkReply{Type: "error", Code: "set-failed", Message: "boom"}, `{"type":"error","code":"set-failed","message":"boom"}`},
		{linkReply{Type: "view", View: &linkView{Addresses: []string{}, Peers: []viewPeer{}}}, `{"type":"view","view":{"ready":false,"addresses":[],"peers":[]}}`},
		{linkReply{Type: "view", View: &linkView{Ready: true, Addresses: []string{"192.0.2.1"}, Peers: []viewPeer{{
			Key: testKey, Endpoint: "127.0.0.1:40001", Counters: &wireCounters{TxPackets: 1, TxBytes: 2, RxPackets: 3, RxBytes: 4, RxAgeMs: &age},
		}}}}, `{"type":"view","view":{"ready":true,"addresses":["192.0.2.1"],"peers":[{"key":"` + testKey + `","endpoint":"127.0.0.1:40001","counters":{"txPackets":1,"txBytes":2,"txDrops":0,"rxPackets":3,"rxBytes":4,"rxAgeMs":12.5}}]}}`},
		{errorReply(&protocolError{field: "version", message: "x", code: "version"}), `{"type":"error","code":"version","message":"version: x","field":"version"}`},
	}
	for _, c := range cases {
		if got := strings.TrimSuffix(string(encodeReply(c.reply)), "\n"); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

func TestParseArgsTakesTheAgentsCommandLine(t *testing.T) {
	env := func(name string) string { return map[string]string{"LOG_LEVEL": "warn"}[name] }
	o, err := parseArgs([]string{"relay-link", "--socket", "/tmp/x.sock"}, env)
	if err != nil || o.socket != "/tmp/x.sock" || o.logLevel != levelWarn {
		t.Fatalf("%+v %v", o, err)
	}
	o, err = parseArgs(nil, func(string) string { return "" })
	if err != nil || o.socket != defaultSocket || o.logLevel != levelInfo {
		t.Fatalf("defaults %+v %v", o, err)
	}
	for _, bad := range [][]string{{"--socket"}, {"--bogus"}, {"--log-level", "loud"}} {
		if _, err := parseArgs(bad, func(string) string { return "" }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
