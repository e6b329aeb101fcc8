package main

// One relay client per address a name resolves to, re-resolved every 30 s (seed): new addresses get a client,
// vanished ones are closed; a failed lookup keeps the current set (packages/relay/src/client/pool.ts). Sends go
// through the first ready client in address order, so one peer's packets keep their order.

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

type resolver func(ctx context.Context, host string) ([]string, error)

// systemResolve: every A/AAAA record, sorted, so "the first address" is stable between lookups.
func systemResolve(ctx context.Context, host string) ([]string, error) {
	if _, err := netip.ParseAddr(host); err == nil {
		return []string{host}, nil
	}
	addresses, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	slices.Sort(addresses)
	return addresses, nil
}

type relayPool struct {
	host      string
	port      int
	resolve   resolver
	interval  time.Duration
	newClient func(address string) *relayClient
	log       *logger

	mu      sync.Mutex
	started bool // the re-resolve loop runs (close waits for it)
	closed  bool
	clients map[string]*relayClient
	// sorted is the clients in address order, replaced (never mutated) on every change: the send path reads it
	// without a lock.
	sorted atomic.Pointer[[]*relayClient]

	stop chan struct{}
	done chan struct{}
}

func newRelayPool(host string, port int, resolve resolver, newClient func(string) *relayClient, log *logger) *relayPool {
	p := &relayPool{
		host: host, port: port, resolve: resolve, interval: 30 * time.Second, newClient: newClient, log: log,
		clients: map[string]*relayClient{}, stop: make(chan struct{}), done: make(chan struct{}),
	}
	p.sorted.Store(&[]*relayClient{})
	return p
}

// start applies the first resolution before it returns (as the Node pool's start resolves), then re-resolves in
// the background.
func (p *relayPool) start() {
	p.refresh()
	p.mu.Lock()
	p.started = true
	p.mu.Unlock()
	go func() {
		defer close(p.done)
		ticker := time.NewTicker(p.interval)
		defer ticker.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-ticker.C:
				p.refresh()
			}
		}
	}()
}

func (p *relayPool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.stop)
	clients := p.clients
	p.clients = map[string]*relayClient{}
	p.publish()
	started := p.started
	p.mu.Unlock()
	if started {
		<-p.done
	}
	for address, client := range clients {
		client.close()
		p.log.info("relay-replica-removed", map[string]any{"address": address}, "relay replica removed")
	}
}

func (p *relayPool) refresh() {
	// Under the agent's 5 s request timeout: the first resolution runs inside a set request, and a set that
	// answers late ends the agent's session.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	addresses, err := p.resolve(ctx, p.host)
	if err != nil {
		p.log.warn("relay-resolve-failed", map[string]any{"host": p.host, "err": err.Error()}, "relay name did not resolve; keeping current replicas")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	for address, client := range p.clients {
		if !slices.Contains(addresses, address) {
			delete(p.clients, address)
			go client.close()
			p.log.info("relay-replica-removed", map[string]any{"address": address}, "relay replica removed")
		}
	}
	for _, address := range addresses {
		if _, ok := p.clients[address]; ok {
			continue
		}
		client := p.newClient(address)
		p.clients[address] = client
		p.log.info("relay-replica-added", map[string]any{"address": address}, "relay replica added")
		client.start()
	}
	p.publish()
}

// publish rebuilds the lock-free client list; called with mu held.
func (p *relayPool) publish() {
	sorted := make([]*relayClient, 0, len(p.clients))
	for _, address := range slices.Sorted(maps.Keys(p.clients)) {
		sorted = append(sorted, p.clients[address])
	}
	p.sorted.Store(&sorted)
}

func (p *relayPool) addresses() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.clients))
}

func (p *relayPool) readyCount() int {
	n := 0
	for _, c := range *p.sorted.Load() {
		if c.ready.Load() {
			n++
		}
	}
	return n
}

// sendFrames: through the first ready replica that takes them.
func (p *relayPool) sendFrames(frames net.Buffers) bool {
	for _, c := range *p.sorted.Load() {
		if c.sendFrames(frames) {
			return true
		}
	}
	return false
}
