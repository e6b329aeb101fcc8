package main

// The node's relay connection (a pool, one client per replica) and the UDP proxy, behind one verb: set(desired) —
// packages/agent/src/relay/connection.ts. A new target (or WireGuard port) replaces the connection and its
// sockets; no target closes it; peers get a socket each while they stay desired.

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

type relayConnection struct {
	publicKey, privateKey []byte
	log                   *logger
	resolve               resolver
	timing                clientTiming

	pool      *relayPool
	proxy     *udpProxy
	targetKey string
	endpoints map[string]string // base64 peer key → 127.0.0.1:port
}

func newRelayConnection(keys linkKeys, log *logger, resolve resolver) *relayConnection {
	return &relayConnection{
		publicKey: mustKey(keys.PublicKey), privateKey: mustKey(keys.PrivateKey),
		log: log, resolve: resolve, timing: defaultTiming, endpoints: map[string]string{},
	}
}

// set is only ever called one at a time (the server serializes requests).
func (r *relayConnection) set(desired desiredRelay) error {
	key := ""
	if t := desired.Target; t != nil {
		mode := "one"
		if t.Pool {
			mode = "pool"
		}
		key = fmt.Sprintf("%s:%d/%s/wg:%d", t.Host, t.Port, mode, desired.WireguardPort)
	}
	if key != r.targetKey {
		r.close()
		if desired.Target != nil {
			if err := r.open(*desired.Target, desired.WireguardPort); err != nil {
				return err
			}
		}
		r.targetKey = key
	}
	if r.proxy == nil {
		return nil
	}
	wanted := map[string]bool{}
	for _, peer := range desired.Peers {
		wanted[peer] = true
	}
	for peer := range r.endpoints {
		if !wanted[peer] {
			r.proxy.removePeer(rawKey(peer))
			delete(r.endpoints, peer)
		}
	}
	for _, peer := range desired.Peers {
		if _, ok := r.endpoints[peer]; ok {
			continue
		}
		endpoint, err := r.proxy.addPeer(rawKey(peer))
		if err != nil {
			return err
		}
		r.endpoints[peer] = endpoint
	}
	return nil
}

func (r *relayConnection) open(target relayTarget, wireguardPort int) error {
	if err := checkKeyPair(r.privateKey, r.publicKey); err != nil {
		return err
	}
	config := handshakeConfig{
		publicKey:  r.publicKey,
		privateKey: r.privateKey,
		// Auth (the key-ownership proof, on by default) and ping. Not control: nothing on the agent ↔ relay-link
		// protocol carries control messages yet, and a relay only sends them to a client that offered it.
		offer:     []byte{extAuth, extPing},
		helloWait: 3 * time.Second,
		authWait:  10 * time.Second,
	}
	// The proxy and the pool point at each other (datagrams one way, frames the other): the pool is set on the
	// proxy before any peer socket exists.
	proxy := newUDPProxy(wireguardPort, nil, r.log.child(map[string]any{"component": "relay-proxy"}))
	clientLog := r.log.child(map[string]any{"component": "relay-client"})
	// Behind a load balancer every address leads to the same replicas: one connection, or the second
	// registration of our key would replace the first over and over.
	resolve := r.resolve
	if !target.Pool {
		resolve = firstAddress(r.resolve)
	}
	pool := newRelayPool(target.Host, target.Port, resolve, func(address string) *relayClient {
		client := newRelayClient(address, target.Port, config, clientLog, proxy.newSink)
		client.timing = r.timing
		return client
	}, clientLog)
	proxy.relay = pool
	r.pool, r.proxy = pool, proxy
	r.log.info("relay-opened", map[string]any{
		"host": target.Host, "port": target.Port, "source": target.Source, "pool": target.Pool,
	}, "relay connection opened")
	pool.start()
	return nil
}

func (r *relayConnection) close() {
	if r.pool != nil {
		r.pool.close()
		r.log.info("relay-closed", map[string]any{"relay": r.targetKey}, "relay connection closed")
	}
	if r.proxy != nil {
		r.proxy.close()
	}
	r.pool, r.proxy, r.targetKey = nil, nil, ""
	clear(r.endpoints)
}

// view: ready, the relay's addresses and, for each desired peer with a socket, its endpoint and counters as ages.
func (r *relayConnection) view(peers []string) linkView {
	v := linkView{Addresses: []string{}, Peers: []viewPeer{}}
	if r.pool == nil {
		return v
	}
	v.Ready = r.pool.readyCount() > 0
	v.Addresses = r.pool.addresses()
	now := monotonicNanos()
	for _, peer := range peers {
		endpoint, ok := r.endpoints[peer]
		if !ok {
			continue
		}
		entry := viewPeer{Key: peer, Endpoint: endpoint}
		if c := r.proxy.counters(rawKey(peer)); c != nil {
			entry.Counters = &wireCounters{
				TxPackets: c.txPackets.Load(), TxBytes: c.txBytes.Load(), TxDrops: c.txDrops.Load(),
				RxPackets: c.rxPackets.Load(), RxBytes: c.rxBytes.Load(),
				TxAgeMs: age(now, c.lastTx.Load()), RxAgeMs: age(now, c.lastRx.Load()),
			}
		}
		v.Peers = append(v.Peers, entry)
	}
	return v
}

// age in milliseconds since a monotonicNanos() time; nil for never, which leaves the field out.
func age(now, at int64) *float64 {
	if at == 0 {
		return nil
	}
	ms := float64(max(0, now-at)) / 1e6
	return &ms
}

func firstAddress(resolve resolver) resolver {
	return func(ctx context.Context, host string) ([]string, error) {
		all, err := resolve(ctx, host)
		if err != nil || len(all) <= 1 {
			return all, err
		}
		return all[:1], nil
	}
}

// rawKey / mustKey: keys were validated by the protocol parser (43 base64 chars and '='), so decoding cannot fail.
func rawKey(text string) [keySize]byte {
	var key [keySize]byte
	copy(key[:], mustKey(text))
	return key
}

func mustKey(text string) []byte {
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(raw) != keySize {
		panic("unvalidated key " + strconv.Quote(text))
	}
	return raw
}
