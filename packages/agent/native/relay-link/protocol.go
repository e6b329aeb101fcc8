package main

// The agent ↔ relay-link protocol (packages/agent/src/relay-link/protocol.ts): one JSON object per line over a
// unix socket; the client says hello first, every later request gets exactly one answer, in order. The checks and
// the field names in errors are the Node parser's, so an agent gets the same answer from either relay-link.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

const (
	linkProtocolVersion = 1
	// A line longer than this is refused (a set for thousands of peers stays well below it).
	maxLineBytes = 1024 * 1024
	// JavaScript's Number.MAX_SAFE_INTEGER: the Node parser's default upper bound for integers.
	maxSafeInteger = 9007199254740991
)

type linkKeys struct {
	PublicKey  string `json:"publicKey"`
	PrivateKey string `json:"privateKey"`
}

type relayTarget struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Pool   bool   `json:"pool"`
	Source string `json:"source"`
}

type desiredRelay struct {
	Target        *relayTarget
	Peers         []string
	WireguardPort int
}

type linkRequest struct {
	Type    string // hello | set | view | stop
	Version int
	Desired desiredRelay
	Keys    linkKeys
}

type wireCounters struct {
	TxPackets uint64   `json:"txPackets"`
	TxBytes   uint64   `json:"txBytes"`
	TxDrops   uint64   `json:"txDrops"`
	RxPackets uint64   `json:"rxPackets"`
	RxBytes   uint64   `json:"rxBytes"`
	TxAgeMs   *float64 `json:"txAgeMs,omitempty"`
	RxAgeMs   *float64 `json:"rxAgeMs,omitempty"`
}

type viewPeer struct {
	Key      string        `json:"key"`
	Endpoint string        `json:"endpoint"`
	Counters *wireCounters `json:"counters,omitempty"`
}

type linkView struct {
	Ready     bool       `json:"ready"`
	Addresses []string   `json:"addresses"`
	Peers     []viewPeer `json:"peers"`
}

// linkReply is every answer; the fields a type does not use are left out.
type linkReply struct {
	Type    string    `json:"type"`
	Version int       `json:"version,omitempty"`
	Pid     int       `json:"pid,omitempty"`
	View    *linkView `json:"view,omitempty"`
	Code    string    `json:"code,omitempty"`
	Message string    `json:"message,omitempty"`
	Field   string    `json:"field,omitempty"`
}

// protocolError: a message that does not follow the protocol; field names the offending part, code is the
// reply's error code (bad-message, version, not-hello).
type protocolError struct {
	field, message, code string
}

func (e *protocolError) Error() string { return e.field + ": " + e.message }

func badField(field, format string, args ...any) *protocolError {
	return &protocolError{field: field, message: fmt.Sprintf(format, args...), code: "bad-message"}
}

func decodeRequest(line []byte) (linkRequest, error) {
	var value any
	if err := json.Unmarshal(line, &value); err != nil {
		return linkRequest{}, badField("message", "not JSON (%s)", err.Error())
	}
	o, err := object(value, "message")
	if err != nil {
		return linkRequest{}, err
	}
	kind, _ := o["type"].(string)
	switch kind {
	case "hello":
		version, err := integer(o["version"], "version", 1, maxSafeInteger)
		return linkRequest{Type: kind, Version: version}, err
	case "set":
		desired, err := parseDesired(o["desired"])
		if err != nil {
			return linkRequest{}, err
		}
		keys, err := parseKeys(o["keys"])
		return linkRequest{Type: kind, Desired: desired, Keys: keys}, err
	case "view", "stop":
		return linkRequest{Type: kind}, nil
	}
	return linkRequest{}, badField("type", "unknown type %s", jsText(o, "type"))
}

// jsText renders a value as JSON.stringify would in the Node error text (a missing field is "undefined").
func jsText(o map[string]any, name string) string {
	value, ok := o[name]
	if !ok {
		return "undefined"
	}
	text, _ := json.Marshal(value)
	return string(text)
}

func parseDesired(value any) (desiredRelay, error) {
	o, err := object(value, "desired")
	if err != nil {
		return desiredRelay{}, err
	}
	list, err := array(o["peers"], "desired.peers")
	if err != nil {
		return desiredRelay{}, err
	}
	peers := make([]string, len(list))
	for i, p := range list {
		if peers[i], err = key(p, fmt.Sprintf("desired.peers[%d]", i)); err != nil {
			return desiredRelay{}, err
		}
	}
	port, err := integer(o["wireguardPort"], "desired.wireguardPort", 1, 65535)
	if err != nil {
		return desiredRelay{}, err
	}
	desired := desiredRelay{Peers: peers, WireguardPort: port}
	// Present-but-null is not absent: Node checks `=== undefined`, so null is "must be an object".
	if raw, ok := o["target"]; ok {
		target, err := parseTarget(raw)
		if err != nil {
			return desiredRelay{}, err
		}
		desired.Target = &target
	}
	return desired, nil
}

var (
	dnsName   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`)
	base64Key = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=$`)
	sources   = []string{"external", "external-ip", "load-balancer-ip", "load-balancer-hostname", "node-port"}
)

func parseTarget(value any) (relayTarget, error) {
	o, err := object(value, "desired.target")
	if err != nil {
		return relayTarget{}, err
	}
	host, err := str(o["host"], "desired.target.host")
	if err != nil {
		return relayTarget{}, err
	}
	if _, ipErr := netip.ParseAddr(host); ipErr != nil && !dnsName.MatchString(host) {
		return relayTarget{}, badField("desired.target.host", "not an IP address or DNS name")
	}
	pool, ok := o["pool"].(bool)
	if !ok {
		return relayTarget{}, badField("desired.target.pool", "must be a boolean")
	}
	port, err := integer(o["port"], "desired.target.port", 1, 65535)
	if err != nil {
		return relayTarget{}, err
	}
	source, ok := o["source"].(string)
	if !ok || !slices.Contains(sources, source) {
		return relayTarget{}, badField("desired.target.source", "must be one of %s", strings.Join(sources, ", "))
	}
	return relayTarget{Host: host, Port: port, Pool: pool, Source: source}, nil
}

func parseKeys(value any) (linkKeys, error) {
	o, err := object(value, "keys")
	if err != nil {
		return linkKeys{}, err
	}
	public, err := key(o["publicKey"], "keys.publicKey")
	if err != nil {
		return linkKeys{}, err
	}
	private, err := key(o["privateKey"], "keys.privateKey")
	return linkKeys{PublicKey: public, PrivateKey: private}, err
}

func object(value any, field string) (map[string]any, error) {
	o, ok := value.(map[string]any)
	if !ok {
		return nil, badField(field, "must be an object")
	}
	return o, nil
}

func array(value any, field string) ([]any, error) {
	a, ok := value.([]any)
	if !ok {
		return nil, badField(field, "must be an array")
	}
	return a, nil
}

func str(value any, field string) (string, error) {
	s, ok := value.(string)
	if !ok {
		return "", badField(field, "must be a string")
	}
	return s, nil
}

func integer(value any, field string, min, max int) (int, error) {
	n, ok := value.(float64)
	if !ok || n != math.Trunc(n) || n < float64(min) || n > float64(max) {
		return 0, badField(field, "must be an integer in %d..%d", min, max)
	}
	return int(n), nil
}

// key: a raw 32-byte WireGuard key in base64, as WireKubePeer carries it.
func key(value any, field string) (string, error) {
	text, err := str(value, field)
	if err != nil {
		return "", err
	}
	if !base64Key.MatchString(text) {
		return "", badField(field, "not a base64 32-byte key")
	}
	return text, nil
}

func encodeReply(reply linkReply) []byte {
	text, err := json.Marshal(reply)
	if err != nil {
		// Every reply is built from plain fields; this cannot happen, and a half answer would desync the client.
		panic(err)
	}
	return append(text, '\n')
}

func errorReply(err *protocolError) linkReply {
	return linkReply{Type: "error", Code: err.code, Message: err.Error(), Field: err.field}
}
