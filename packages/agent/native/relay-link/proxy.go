package main

// The loopback UDP side of the relay path (packages/relay/src/proxy/udp-proxy.ts). Each relayed peer has its own
// socket, connected to local WireGuard: what WireGuard sends to it goes to the relay as Data for that peer, and
// Data from that peer leaves through that same socket, so WireGuard sees one stable endpoint per peer. The kernel
// filter of the connected socket keeps every other local process from injecting into the relay.
//
// Per peer, one goroutine reads up to 64 datagrams per recvmmsg straight behind their Data headers (buffers
// borrowed only while there is something to read) and hands them to the relay as one writev. The relay's reader
// delivers per TCP read: each peer's run of datagrams leaves with one sendmmsg, same-size ones as UDP GSO groups.

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

const (
	batchSize = 64
	// 4 MiB: when this process is not scheduled for a few milliseconds WireGuard keeps sending at line rate, and
	// the default 208 KiB (≈ 90 datagrams) overflows (the Node proxy's measured reason for the same size).
	socketBufferBytes = 4 << 20
)

// frameSender is the relay side the proxy sends to (the pool).
type frameSender interface {
	sendFrames(frames net.Buffers) bool
}

type proxyCounters struct {
	txPackets, txBytes, txDrops atomic.Uint64
	rxPackets, rxBytes          atomic.Uint64
	// monotonicNanos() of the last datagram each way; 0 = never.
	lastTx, lastRx atomic.Int64
}

type proxyPeer struct {
	key      [keySize]byte
	conn     *net.UDPConn
	packets  *ipv4.PacketConn
	endpoint string
	counters proxyCounters
}

type udpProxy struct {
	wireguardPort int
	relay         frameSender
	log           *logger

	mu sync.Mutex // add/remove
	// peers is replaced on every change, never mutated: the relay's readers look peers up without a lock.
	peers atomic.Pointer[map[[keySize]byte]*proxyPeer]

	unknownPeer, foreignSource, wireguardRefused atomic.Uint64
	batches                                      readBatches
}

func newUDPProxy(wireguardPort int, relay frameSender, log *logger) *udpProxy {
	p := &udpProxy{wireguardPort: wireguardPort, relay: relay, log: log, batches: make(readBatches, 4)}
	p.peers.Store(&map[[keySize]byte]*proxyPeer{})
	return p
}

func (p *udpProxy) peer(key [keySize]byte) *proxyPeer { return (*p.peers.Load())[key] }

// addPeer opens the peer's socket, or returns the one it has: the port stays while the peer stays, so the agent
// can point WireGuard at it and away at any time.
func (p *udpProxy) addPeer(key [keySize]byte) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if existing := p.peer(key); existing != nil {
		return existing.endpoint, nil
	}
	loopback := net.IPv4(127, 0, 0, 1)
	wireguard := &net.UDPAddr{IP: loopback, Port: p.wireguardPort}
	conn, err := net.DialUDP("udp4", &net.UDPAddr{IP: loopback}, wireguard)
	if err != nil {
		return "", fmt.Errorf("proxy connect %s: %w", wireguard, err)
	}
	// Best effort: the kernel caps them at net.core.rmem_max/wmem_max, as it does for Node.
	_ = conn.SetReadBuffer(socketBufferBytes)
	_ = conn.SetWriteBuffer(socketBufferBytes)
	peer := &proxyPeer{
		key:      key,
		conn:     conn,
		packets:  ipv4.NewPacketConn(conn),
		endpoint: conn.LocalAddr().String(),
	}
	next := clonePeers(*p.peers.Load())
	next[key] = peer
	p.peers.Store(&next)
	go p.readWireGuard(peer)
	p.log.info("proxy-added", map[string]any{"peer": keyText(key), "port": conn.LocalAddr().(*net.UDPAddr).Port}, "relay proxy listening for peer")
	return peer.endpoint, nil
}

func (p *udpProxy) removePeer(key [keySize]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	peer := p.peer(key)
	if peer == nil {
		return
	}
	next := clonePeers(*p.peers.Load())
	delete(next, key)
	p.peers.Store(&next)
	// Not waiting for the reader: it may be inside a TCP write to a stalled relay, and a set request must not wait
	// for that. Its next read fails on the closed socket and it ends.
	_ = peer.conn.Close()
	p.log.info("proxy-removed", map[string]any{"peer": keyText(key)}, "relay proxy closed")
}

func (p *udpProxy) close() {
	for key := range *p.peers.Load() {
		p.removePeer(key)
	}
}

// readBatch holds the buffers of one recvmmsg: full-size slots, so a datagram is never truncated. Batches are
// shared by every peer through readBatches and held only while datagrams are being read and sent — an idle peer
// holds none. (One batch per peer, waiting in recvmmsg, cost 4 MiB of address space per peer and, once peers
// churned and the runtime re-zeroed reused memory, ~1.7 MiB resident each: 340 MB for 200 peers.)
type readBatch struct {
	slots   [][]byte
	iovecs  []unix.Iovec
	names   []unix.RawSockaddrInet4
	headers []unix.Mmsghdr
	frames  net.Buffers
}

func newReadBatch() *readBatch {
	b := &readBatch{
		slots:   make([][]byte, batchSize),
		iovecs:  make([]unix.Iovec, batchSize),
		names:   make([]unix.RawSockaddrInet4, batchSize),
		headers: make([]unix.Mmsghdr, batchSize),
		frames:  make(net.Buffers, 0, batchSize),
	}
	for i := range b.slots {
		b.slots[i] = make([]byte, dataHeaderSize+maxDatagramSize)
		b.iovecs[i].Base = &b.slots[i][dataHeaderSize]
		b.iovecs[i].SetLen(maxDatagramSize)
		b.headers[i].Hdr.Iov = &b.iovecs[i]
		b.headers[i].Hdr.SetIovlen(1)
		b.headers[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
	}
	return b
}

// receive reads up to a batch of queued datagrams without blocking (recvmmsg, MSG_DONTWAIT); EAGAIN when none.
func (b *readBatch) receive(fd uintptr) (int, error) {
	for i := range b.headers {
		b.headers[i].Hdr.Namelen = unix.SizeofSockaddrInet4
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.headers[0])), uintptr(len(b.headers)),
		unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// readBatches is a bounded free list: as many batches as peers read at once (a few on a 2-core node) stay
// allocated; beyond that they are dropped for the GC.
type readBatches chan *readBatch

func (f readBatches) get() *readBatch {
	select {
	case b := <-f:
		return b
	default:
		return newReadBatch()
	}
}

func (f readBatches) put(b *readBatch) {
	select {
	case f <- b:
	default:
	}
}

// readWireGuard: WireGuard → relay for one peer, until the socket is closed. It borrows a batch, reads up to 64
// datagrams with one recvmmsg straight behind their Data headers and sends them as one writev. Batches are
// borrowed only when a datagram is likely queued — after a read found some, or once the poller said readable;
// a reader that has been idle asks first with a 1-byte MSG_PEEK that holds no buffers — so an idle peer holds
// none, and a busy one pays one syscall per batch.
func (p *udpProxy) readWireGuard(peer *proxyPeer) {
	raw, err := peer.conn.SyscallConn()
	if err != nil {
		p.log.warn("proxy-socket-error", map[string]any{"peer": keyText(peer.key), "err": err.Error()}, "proxy error")
		return
	}
	peek := make([]byte, 1)
	c := &peer.counters
	hot := false
	for {
		var b *readBatch
		var n int
		var readErr error
		waited := false
		err := raw.Read(func(fd uintptr) bool {
			if !hot && !waited {
				_, _, peekErr := syscall.Recvfrom(int(fd), peek, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
				if peekErr == syscall.EAGAIN {
					waited = true
					return false
				}
			}
			b = p.batches.get()
			n, readErr = b.receive(fd)
			if readErr == syscall.EAGAIN {
				p.batches.put(b)
				b = nil
				hot, waited = false, true
				return false
			}
			return true
		})
		if err != nil {
			if b != nil {
				p.batches.put(b)
			}
			return // closed (removePeer or shutdown)
		}
		if readErr != nil {
			p.batches.put(b)
			if !p.readError(peer, readErr) {
				return
			}
			continue
		}
		hot = true
		frames := b.frames[:0]
		bytes := 0
		for i := range n {
			h := &b.headers[i]
			// The connected socket filters by source; only what arrived between bind and connect gets here.
			if h.Hdr.Namelen >= 4 && sourcePort(&b.names[i]) != p.wireguardPort {
				p.foreignSource.Add(1)
				continue
			}
			size := int(h.Len)
			putDataHeader(b.slots[i], peer.key[:], size)
			frames = append(frames, b.slots[i][:dataHeaderSize+size])
			bytes += size
		}
		if len(frames) > 0 {
			if p.relay.sendFrames(frames) {
				c.txPackets.Add(uint64(len(frames)))
				c.txBytes.Add(uint64(bytes))
				c.lastTx.Store(monotonicNanos())
			} else {
				c.txDrops.Add(uint64(len(frames)))
			}
		}
		clear(frames)
		p.batches.put(b)
	}
}

// sourcePort: the port of a received datagram's source address (network byte order in the sockaddr).
func sourcePort(name *unix.RawSockaddrInet4) int {
	return int(binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&name.Port))[:]))
}

// readError sorts a read error of a peer socket: false when the socket is gone and the reader must end.
func (p *udpProxy) readError(peer *proxyPeer, err error) bool {
	switch {
	case errors.Is(err, net.ErrClosed), errors.Is(err, syscall.EBADF):
		return false
	case errors.Is(err, syscall.ECONNREFUSED):
		// WireGuard's port closed (restarting): the kernel reports its port-unreachable on the next read of a
		// connected socket. Expected and transient; WireGuard retransmits.
		p.wireguardRefused.Add(1)
	default:
		p.log.warn("proxy-socket-error", map[string]any{"peer": keyText(peer.key), "err": err.Error()}, "proxy error")
	}
	return true
}

// newSink gives one relay connection's reader its own delivery batch.
func (p *udpProxy) newSink() frameSink {
	b := &deliveryBatch{
		proxy:     p,
		datagrams: make([][]byte, batchSize),
		messages:  make([]ipv4.Message, batchSize),
		oob:       make([][]byte, batchSize),
	}
	for i := range b.oob {
		b.oob[i] = make([]byte, unix.CmsgSpace(2))
	}
	return b
}

// deliveryBatch gathers the datagrams of one TCP read per peer and sends each run with one sendmmsg. The
// datagrams point into the reader's buffer, which the reader only reuses after flush.
type deliveryBatch struct {
	proxy     *udpProxy
	current   *proxyPeer
	datagrams [][]byte
	count     int
	messages  []ipv4.Message
	oob       [][]byte
	// The last peer looked up: a burst comes from one peer, and an array compare beats a map lookup.
	lastKey  [keySize]byte
	lastPeer *proxyPeer
}

func (b *deliveryBatch) deliver(source, datagram []byte) {
	var key [keySize]byte
	copy(key[:], source)
	peer := b.lastPeer
	if peer == nil || key != b.lastKey {
		peer = b.proxy.peer(key)
		b.lastKey, b.lastPeer = key, peer
	}
	if peer == nil {
		b.proxy.unknownPeer.Add(1)
		if b.proxy.log.enabled(levelDebug) {
			b.proxy.log.debug("relay-unknown-peer", map[string]any{"peer": keyText(key)}, "relayed packet from an unknown key")
		}
		return
	}
	c := &peer.counters
	c.rxPackets.Add(1)
	c.rxBytes.Add(uint64(len(datagram)))
	c.lastRx.Store(monotonicNanos())
	if peer != b.current || b.count == batchSize {
		b.flush()
		b.current = peer
	}
	b.datagrams[b.count] = datagram
	b.count++
}

// flush sends the pending run of one peer: consecutive datagrams of one size leave as one UDP GSO message
// (segmentGroup) that the kernel cuts up — one route lookup, one skb through loopback and one wake-up of
// WireGuard's socket per group instead of per datagram (the lab bench's figures: README, "UDP proxy"). A kernel
// that refuses GSO turns it off for the process; the group that failed is sent again datagram by datagram.
func (b *deliveryBatch) flush() {
	peer := b.current
	for sent := 0; sent < b.count; {
		messages := b.pack(b.datagrams[sent:b.count])
		n, err := peer.packets.WriteBatch(b.messages[:messages], 0)
		done := 0
		for i := range max(n, 0) {
			done += len(b.messages[i].Buffers)
		}
		if err != nil {
			failed := b.messages[max(n, 0)]
			switch {
			case len(failed.Buffers) > 1 && gsoRefused(err):
				if udpGSO.Swap(false) {
					b.proxy.log.warn("proxy-gso-off", map[string]any{"err": err.Error()}, "the kernel refused UDP segmentation offload; sending datagram by datagram")
				}
			case errors.Is(err, syscall.ECONNREFUSED):
				b.proxy.wireguardRefused.Add(1)
				fallthrough
			default:
				// UDP: what failed is dropped, the rest still go.
				done += len(failed.Buffers)
			}
		}
		if done == 0 && err == nil {
			break // sendmmsg sends at least one message or fails; never spin on a call that did neither
		}
		sent += done
	}
	for i := range b.messages {
		if b.messages[i].Buffers == nil {
			break
		}
		b.messages[i].Buffers = nil
	}
	clear(b.datagrams[:b.count])
	b.count = 0
	// A peer removed meanwhile must not be kept alive (nor written to) through the cache.
	b.current, b.lastPeer = nil, nil
}

// pack fills b.messages with datagrams (in order), grouped for GSO while it is on; returns how many messages.
func (b *deliveryBatch) pack(datagrams [][]byte) int {
	gso := udpGSO.Load()
	messages := 0
	for i := 0; i < len(datagrams); messages++ {
		j := i + 1
		if gso {
			j = i + segmentGroup(datagrams[i:], gsoMaxSegments, gsoMaxBytes)
		}
		m := &b.messages[messages]
		m.Buffers = datagrams[i:j]
		m.OOB = nil
		if j-i > 1 {
			m.OOB = putSegmentCmsg(b.oob[messages], len(datagrams[i]))
		}
		i = j
	}
	return messages
}

// udpGSO: whether datagrams to WireGuard go out as UDP GSO groups (Linux ≥ 4.18); off once the kernel refuses.
var udpGSO = func() *atomic.Bool {
	var on atomic.Bool
	on.Store(true)
	return &on
}()

const (
	// The kernel's UDP_MAX_SEGMENTS is 64 before Linux 6.2 (128 since).
	gsoMaxSegments = 64
	// Below the 65,507-byte ceiling of one UDP datagram's payload.
	gsoMaxBytes = 65000
)

// segmentGroup: how many of the leading datagrams form one GSO message — all of the first one's size, but the
// last, which may be shorter (that is how the kernel cuts: every segment gso_size bytes, the rest last); at
// least 1, at most maxSegments datagrams and maxBytes bytes. An empty datagram is always alone.
func segmentGroup(datagrams [][]byte, maxSegments, maxBytes int) int {
	size := len(datagrams[0])
	if size == 0 {
		return 1
	}
	n, total := 1, size
	for n < len(datagrams) && n < maxSegments {
		l := len(datagrams[n])
		if l == 0 || l > size || total+l > maxBytes {
			break
		}
		total += l
		n++
		if l < size {
			break
		}
	}
	return n
}

// gsoRefused: the errors of a kernel or socket without UDP GSO (or a group it will not take).
func gsoRefused(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOPROTOOPT) ||
		errors.Is(err, syscall.EOPNOTSUPP)
}

// putSegmentCmsg writes a UDP_SEGMENT control message (the segment size) into buf.
func putSegmentCmsg(buf []byte, segment int) []byte {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&buf[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&buf[unix.CmsgLen(0)])) = uint16(segment)
	return buf[:unix.CmsgSpace(2)]
}

// counters of a peer, for the view.
func (p *udpProxy) counters(key [keySize]byte) *proxyCounters {
	if peer := p.peer(key); peer != nil {
		return &peer.counters
	}
	return nil
}

func (p *udpProxy) endpoint(key [keySize]byte) (string, bool) {
	if peer := p.peer(key); peer != nil {
		return peer.endpoint, true
	}
	return "", false
}

func clonePeers(m map[[keySize]byte]*proxyPeer) map[[keySize]byte]*proxyPeer {
	out := make(map[[keySize]byte]*proxyPeer, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func keyText(key [keySize]byte) string { return base64.StdEncoding.EncodeToString(key[:]) }
