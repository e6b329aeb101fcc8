// Command rawhops is the raw Go counterpart of bench/raw-hops.mjs for bench/hops.ts: the same roles, command line,
// wire format and ready lines, so a Go part can stand in for a Node one on either side of any hop. It answers one
// question for the relayed path: is a process crossing cheaper in Go than in Node on this machine?
//
//	udp-hop <portA> <portB>                              one UDP socket: datagrams from portA go to portB and back
//	agent relay <tcpPort> <ownKey> <peerKey> <wgPort>    UDP ⇄ Data frames over TCP to a relay (Register, core)
//	agent listen 0 <ownKey> <peerKey> <wgPort>           the same, accepting one TCP connection (no relay)
//	agent connect <tcpPort> <ownKey> <peerKey> <wgPort>  the same, connecting straight to a listening agent
//	relay                                                routes Data by key, rewriting destination → source in place
//
// Unbatched (the default) each datagram is one UDP syscall and one TCP write, like the raw Node parts. With
// RAWGO_BATCH=1 the agent reads up to 64 datagrams per recvmmsg and writes their frames in one writev, and sends the
// datagrams of one TCP read with sendmmsg; the relay writes each run of frames bound for one peer in one write.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
)

const (
	header       = 4
	dataHeader   = header + 1 + 32
	typeRegister = 0x01
	typeData     = 0x02
	maxDatagram  = 65535
	batch        = 64
	readBuffer   = 256 << 10
	socketBuffer = 4 << 20
)

var (
	batched  = os.Getenv("RAWGO_BATCH") == "1"
	loopback = net.IPv4(127, 0, 0, 1)
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	go func() {
		<-stop
		os.Exit(0)
	}()
	if len(os.Args) < 2 {
		fail(errors.New("usage: rawhops udp-hop|agent|relay …"))
	}
	args := os.Args[2:]
	switch role := os.Args[1]; {
	case role == "udp-hop" && len(args) == 2:
		udpHop(number(args[0]), number(args[1]))
	case role == "agent" && len(args) == 5:
		agent(args[0], number(args[1]), key(args[2]), key(args[3]), number(args[4]))
	case role == "relay":
		relay()
	default:
		fail(fmt.Errorf("unknown role or arguments: %q", os.Args[1:]))
	}
}

func udpHop(portA, portB int) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback})
	check(err)
	socketBuffers(conn)
	ready(map[string]int{"port": conn.LocalAddr().(*net.UDPAddr).Port})
	toA := &net.UDPAddr{IP: loopback, Port: portA}
	toB := &net.UDPAddr{IP: loopback, Port: portB}
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		to := toA
		if int(from.Port()) == portA {
			to = toB
		}
		_, _ = conn.WriteToUDP(buf[:n], to)
	}
}

func agent(mode string, tcpPort int, own, peer []byte, wgPort int) {
	wg, err := net.DialUDP("udp4", &net.UDPAddr{IP: loopback}, &net.UDPAddr{IP: loopback, Port: wgPort})
	check(err)
	socketBuffers(wg)
	proxyPort := wg.LocalAddr().(*net.UDPAddr).Port
	var tcp *net.TCPConn
	if mode == "listen" {
		listener, err := net.ListenTCP("tcp4", relayListenAddr())
		check(err)
		ready(map[string]int{"proxyPort": proxyPort, "tcpPort": listener.Addr().(*net.TCPAddr).Port})
		tcp, err = listener.AcceptTCP()
		check(err)
	} else {
		tcp, err = net.DialTCP("tcp4", nil, &net.TCPAddr{IP: loopback, Port: tcpPort})
		check(err)
		if mode == "relay" {
			register := make([]byte, header+1+32)
			binary.BigEndian.PutUint32(register, 1+32)
			register[header] = typeRegister
			copy(register[header+1:], own)
			_, err = tcp.Write(register)
			check(err)
		}
		ready(map[string]int{"proxyPort": proxyPort})
	}
	// Go's TCP sockets have TCP_NODELAY on already; frames go out when written.
	go func() {
		err := frames(tcp, func(frame []byte) bool { return frame[header] == typeData && len(frame) > dataHeader },
			datagramSender(wg))
		lost(fmt.Errorf("tcp read: %w", err))
	}()
	if batched {
		udpToTCPBatched(wg, tcp, peer)
	} else {
		udpToTCP(wg, tcp, peer)
	}
}

// Each datagram is read into a frame buffer behind its Data header, so framing costs no copy.
func udpToTCP(wg *net.UDPConn, tcp *net.TCPConn, peer []byte) {
	frame := dataFrame(peer)
	for {
		n, err := wg.Read(frame[dataHeader:])
		if err != nil {
			continue // ECONNREFUSED from a wg port that is not there yet: UDP, keep going
		}
		binary.BigEndian.PutUint32(frame, uint32(1+32+n))
		if _, err := tcp.Write(frame[:dataHeader+n]); err != nil {
			lost(fmt.Errorf("tcp write: %w", err))
		}
	}
}

func udpToTCPBatched(wg *net.UDPConn, tcp *net.TCPConn, peer []byte) {
	conn := ipv4.NewPacketConn(wg)
	slots := make([][]byte, batch)
	messages := make([]ipv4.Message, batch)
	for i := range slots {
		slots[i] = dataFrame(peer)
		messages[i].Buffers = [][]byte{slots[i][dataHeader:]}
	}
	out := make(net.Buffers, 0, batch)
	for {
		n, err := conn.ReadBatch(messages, 0)
		if err != nil {
			continue
		}
		out = out[:0]
		for i := range n {
			binary.BigEndian.PutUint32(slots[i], uint32(1+32+messages[i].N))
			out = append(out, slots[i][:dataHeader+messages[i].N])
		}
		if _, err := out.WriteTo(tcp); err != nil {
			lost(fmt.Errorf("tcp write: %w", err))
		}
	}
}

func dataFrame(peer []byte) []byte {
	frame := make([]byte, dataHeader+maxDatagram)
	frame[header] = typeData
	copy(frame[header+1:dataHeader], peer)
	return frame
}

// datagramSender sends each Data body to WireGuard: at once, or (batched) gathered per TCP read into one sendmmsg.
func datagramSender(wg *net.UDPConn) sink {
	if !batched {
		return sink{forward: func(frame []byte) { _, _ = wg.Write(frame[dataHeader:]) }, flush: func() {}}
	}
	conn := ipv4.NewPacketConn(wg)
	messages := make([]ipv4.Message, batch)
	for i := range messages {
		messages[i].Buffers = make([][]byte, 1)
	}
	count := 0
	flush := func() {
		for sent := 0; sent < count; {
			n, err := conn.WriteBatch(messages[sent:count], 0)
			if err != nil {
				break // dropped, as UDP may
			}
			sent += n
		}
		count = 0
	}
	return sink{
		forward: func(frame []byte) {
			messages[count].Buffers[0] = frame[dataHeader:]
			if count++; count == batch {
				flush()
			}
		},
		flush: flush,
	}
}

// A sink takes the wanted frames of one read; flush runs before the read buffer is reused.
type sink struct {
	forward func(frame []byte)
	flush   func()
}

// frames reads whole frames off a TCP connection until it ends, handing each one that wanted() to the sink.
func frames(conn *net.TCPConn, wanted func(frame []byte) bool, to sink) error {
	buf := make([]byte, readBuffer)
	have := 0
	for {
		n, err := conn.Read(buf[have:])
		if err != nil {
			return err
		}
		have += n
		offset := 0
		for have-offset >= header {
			end := offset + header + int(binary.BigEndian.Uint32(buf[offset:]))
			if end > have {
				break
			}
			if end > offset+header && wanted(buf[offset:end]) {
				to.forward(buf[offset:end])
			}
			offset = end
		}
		to.flush()
		have = copy(buf, buf[offset:have])
		if have >= header {
			if need := header + int(binary.BigEndian.Uint32(buf)); need > len(buf) {
				grown := make([]byte, need)
				copy(grown, buf[:have])
				buf = grown
			}
		}
	}
}

type route struct {
	mu   sync.Mutex
	conn *net.TCPConn
}

func (r *route) write(frames []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.conn.Write(frames)
}

type routes struct {
	mu    sync.RWMutex
	byKey map[string]*route
}

func (r *routes) get(key []byte) *route {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byKey[string(key)]
}

func relay() {
	listener, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: loopback})
	check(err)
	table := &routes{byKey: map[string]*route{}}
	ready(map[string]int{"port": listener.Addr().(*net.TCPAddr).Port})
	for {
		conn, err := listener.AcceptTCP()
		check(err)
		go serve(conn, table)
	}
}

// serve routes one connection's Data frames. Batched, consecutive frames for one peer are still contiguous in the
// read buffer after their in-place rewrite, so each such run goes out in one write.
func serve(conn *net.TCPConn, table *routes) {
	self := &route{conn: conn}
	own := ""
	defer func() {
		_ = conn.Close()
		table.mu.Lock()
		if own != "" && table.byKey[own] == self {
			delete(table.byKey, own)
		}
		table.mu.Unlock()
	}()
	var run []byte
	var runTo *route
	flush := func() {
		if runTo != nil {
			runTo.write(run)
		}
		run, runTo = nil, nil
	}
	forward := func(frame []byte) {
		switch {
		case frame[header] == typeRegister && len(frame) == header+1+32:
			flush()
			own = string(frame[header+1:])
			table.mu.Lock()
			table.byKey[own] = self
			table.mu.Unlock()
		case frame[header] == typeData && own != "" && len(frame) >= dataHeader:
			target := table.get(frame[header+1 : dataHeader])
			if target == nil {
				flush()
				return
			}
			copy(frame[header+1:], own)
			if !batched {
				target.write(frame)
			} else if target == runTo && follows(run, frame) {
				run = run[:len(run)+len(frame)]
			} else {
				flush()
				run, runTo = frame, target
			}
		default:
			flush()
		}
	}
	_ = frames(conn, func([]byte) bool { return true }, sink{forward: forward, flush: flush})
}

// follows says whether frame starts right where run ends, in the same buffer.
func follows(run, frame []byte) bool {
	return len(run) < cap(run) && &run[:len(run)+1][len(run)] == &frame[0]
}

func socketBuffers(conn *net.UDPConn) {
	check(conn.SetReadBuffer(socketBuffer))
	check(conn.SetWriteBuffer(socketBuffer))
}

func ready(line map[string]int) {
	text, err := json.Marshal(line)
	check(err)
	fmt.Println(string(text))
}

func number(text string) int {
	n, err := strconv.Atoi(text)
	check(err)
	return n
}

func key(text string) []byte {
	decoded, err := base64.StdEncoding.DecodeString(text)
	check(err)
	if len(decoded) != 32 {
		fail(fmt.Errorf("key %q: %d bytes, want 32", text, len(decoded)))
	}
	return decoded
}

// lost reports a broken relay connection and parks the caller: like the raw Node agent, the process stays up (the
// bench reads its CPU time) but carries nothing more on that connection.
func lost(err error) {
	fmt.Fprintln(os.Stderr, "rawhops: agent:", err)
	select {}
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rawhops:", err)
	os.Exit(2)
}

// relayListenAddr: loopback on a free port, or RAW_RELAY_LISTEN (host:port), so that the lab's relay-path bench
// can put this relay in the project's relay's place (BENCH_RELAY_COMMAND).
func relayListenAddr() *net.TCPAddr {
	if a := os.Getenv("RAW_RELAY_LISTEN"); a != "" {
		addr, err := net.ResolveTCPAddr("tcp4", a)
		check(err)
		return addr
	}
	return &net.TCPAddr{IP: loopback}
}
