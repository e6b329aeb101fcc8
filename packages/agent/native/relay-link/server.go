package main

// The relay-link's unix-socket server (packages/agent/src/relay-link/server.ts): one relayConnection, driven by
// whichever agent is connected. It outlives the agent, so an agent restart finds the same relay session and the
// same proxy ports. The socket carries the node's private key: 0600 in a 0700 directory, root (the agent) only.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

type linkServer struct {
	socketPath string
	log        *logger
	resolve    resolver
	onStop     func()

	listener *net.UnixListener
	clientMu sync.Mutex
	clients  map[net.Conn]struct{}
	closed   bool

	// mu runs requests from every client one at a time: each set sees the state the previous one left.
	mu         sync.Mutex
	connection *relayConnection
	keys       linkKeys
	peers      []string
}

func (s *linkServer) listen() error {
	dir := filepath.Dir(s.socketPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	listener, err := listenUnix(s.socketPath)
	if errors.Is(err, syscall.EADDRINUSE) {
		if answers(s.socketPath, time.Second) {
			return fmt.Errorf("relay-link %s: another relay-link already serves this socket", s.socketPath)
		}
		// Left by a relay-link that died without cleaning up: nobody listens on it.
		if err := os.Remove(s.socketPath); err != nil {
			return err
		}
		listener, err = listenUnix(s.socketPath)
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(s.socketPath, 0o600); err != nil {
		_ = listener.Close()
		return err
	}
	s.listener = listener
	s.clients = map[net.Conn]struct{}{}
	s.log.info("relay-link-listening", map[string]any{"socket": s.socketPath}, "relay-link listening")
	go s.accept()
	return nil
}

// listenUnix creates the socket 0600 from the start (umask 0177 for the bind): no window in which another user
// could connect. The umask is process-wide, and nothing else creates files concurrently at this point.
func listenUnix(path string) (*net.UnixListener, error) {
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
}

// answers: something accepts connections on the socket.
func answers(path string, timeout time.Duration) bool {
	conn, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func (s *linkServer) accept() {
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			return // closed
		}
		s.clientMu.Lock()
		if s.closed {
			s.clientMu.Unlock()
			_ = conn.Close()
			return
		}
		s.clients[conn] = struct{}{}
		s.clientMu.Unlock()
		go s.serve(conn)
	}
}

func (s *linkServer) close() {
	s.clientMu.Lock()
	s.closed = true
	for conn := range s.clients {
		_ = conn.Close()
	}
	s.clientMu.Unlock()
	if s.listener != nil {
		_ = s.listener.Close() // removes the socket file (Go unlinks what it bound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connection != nil {
		s.connection.close()
		s.connection = nil
	}
}

// serve answers one client's lines in order. A bad line gets an error naming the field and ends that connection;
// nothing else is lost.
func (s *linkServer) serve(conn net.Conn) {
	defer func() {
		_ = conn.Close()
		s.clientMu.Lock()
		delete(s.clients, conn)
		s.clientMu.Unlock()
	}()
	reader := bufio.NewReaderSize(conn, 64<<10)
	greeted := false
	for {
		line, err := readLine(reader)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				s.refuse(conn, badField("message", "line too long"))
			}
			return
		}
		if len(trimSpace(line)) == 0 {
			continue
		}
		request, perr := decodeRequest(line)
		if perr == nil && !greeted && request.Type != "hello" {
			perr = &protocolError{field: "type", message: "the first message must be hello", code: "not-hello"}
		}
		if perr == nil && request.Type == "hello" && request.Version != linkProtocolVersion {
			perr = &protocolError{
				field:   "version",
				message: fmt.Sprintf("version %d not supported (this relay-link speaks %d)", request.Version, linkProtocolVersion),
				code:    "version",
			}
		}
		if perr != nil {
			var protocol *protocolError
			if !errors.As(perr, &protocol) {
				protocol = badField("message", "%s", perr.Error())
			}
			s.refuse(conn, protocol)
			return
		}
		greeted = true
		reply := s.handle(request)
		if _, err := conn.Write(encodeReply(reply)); err != nil {
			return
		}
		if request.Type == "stop" {
			_ = conn.Close()
			if s.onStop != nil {
				s.onStop()
			}
			return
		}
	}
}

// refuse answers with the error and half-closes, like the Node server's socket.end(reply): the rest of what the
// client sent is read and dropped until it closes its side (or 5 s pass), so it gets the answer and not a reset
// while it is still writing.
func (s *linkServer) refuse(conn net.Conn, err *protocolError) {
	s.log.warn("relay-link-bad-message", map[string]any{"field": err.field, "err": err.Error()}, "relay-link client sent a bad message; closing that connection")
	if _, werr := conn.Write(encodeReply(errorReply(err))); werr != nil {
		return
	}
	if unix, ok := conn.(*net.UnixConn); ok {
		_ = unix.CloseWrite()
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.Copy(io.Discard, conn)
}

var errLineTooLong = errors.New("line too long")

// readLine returns one line without its newline; over maxLineBytes it gives up on the connection.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLineBytes+1 {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}

func trimSpace(b []byte) []byte {
	start, end := 0, len(b)
	for start < end && isSpace(b[start]) {
		start++
	}
	for end > start && isSpace(b[end-1]) {
		end--
	}
	return b[start:end]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func (s *linkServer) handle(request linkRequest) linkReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch request.Type {
	case "hello":
		return linkReply{Type: "hello", Version: linkProtocolVersion, Pid: os.Getpid()}
	case "stop":
		s.log.info("relay-link-stop-requested", nil, "relay-link asked to stop")
		return linkReply{Type: "stopping"}
	case "set":
		if err := s.set(request.Desired, request.Keys); err != nil {
			return linkReply{Type: "error", Code: "set-failed", Message: err.Error()}
		}
	}
	view := s.view()
	return linkReply{Type: "view", View: &view}
}

func (s *linkServer) set(desired desiredRelay, keys linkKeys) error {
	if s.connection == nil || s.keys != keys {
		// A new key pair is a new identity at the relay (its auth proof): a fresh connection and fresh sockets.
		if s.connection != nil {
			s.log.info("relay-link-key-changed", map[string]any{"publicKey": keys.PublicKey}, "key changed")
			s.connection.close()
		}
		s.connection = newRelayConnection(keys, s.log, s.resolve)
		s.keys = keys
	}
	s.peers = desired.Peers
	return s.connection.set(desired)
}

func (s *linkServer) view() linkView {
	if s.connection == nil {
		return linkView{Addresses: []string{}, Peers: []viewPeer{}}
	}
	return s.connection.view(s.peers)
}
