package main

// The relay frame layout (DESIGN.md "Relay wire protocol", packages/relay/src/codec/frame.ts and extensions.ts):
//
//	[u32 big-endian length N][u8 type][N-1 bytes body],  1 <= N <= 65536
//
// The four core frames are byte-exact with every other implementation of this framing; extension frames are only
// sent to a client after Hello/Welcome agreed on them. The constants and encoders duplicate the relay-link's
// (packages/agent/native/relay-link/frame.go): two small main packages, not worth a shared module (README).

import (
	"encoding/binary"
	"fmt"
)

const (
	headerSize     = 4
	bodyOffset     = headerSize + 1
	keySize        = 32
	dataHeaderSize = bodyOffset + keySize
	minFrameLength = 1
	maxFrameLength = 65536
	maxBodySize    = maxFrameLength - 1
	// The largest frame on the wire, header included: the most a reader ever carries over between reads.
	maxFrameSize = headerSize + maxFrameLength

	nonceSize         = 32
	proofSize         = 32
	pingTokenSize     = 8
	maxControlPayload = 1024
)

// Frame types: core first, then the negotiated extensions.
const (
	frameRegister      byte = 0x01
	frameData          byte = 0x02
	frameKeepalive     byte = 0x03
	frameError         byte = 0xff
	frameHello         byte = 0x10
	frameWelcome       byte = 0x11
	frameAuthChallenge byte = 0x20
	frameAuthProof     byte = 0x21
	frameAuthOk        byte = 0x22
	framePing          byte = 0x30
	framePong          byte = 0x31
	frameControl       byte = 0x40
)

// Extension ids as Hello and Welcome carry them, one byte each.
const (
	extAuth    byte = 0x01
	extPing    byte = 0x02
	extControl byte = 0x03
)

var allExtensions = []byte{extAuth, extPing, extControl}

// frameTypeName names a type as the Node relay's frameTypeName does, for the texts of Error frames.
func frameTypeName(kind byte) string {
	switch kind {
	case frameRegister:
		return "Register"
	case frameData:
		return "Data"
	case frameKeepalive:
		return "Keepalive"
	case frameError:
		return "Error"
	case frameHello:
		return "Hello"
	case frameWelcome:
		return "Welcome"
	case frameAuthChallenge:
		return "AuthChallenge"
	case frameAuthProof:
		return "AuthProof"
	case frameAuthOk:
		return "AuthOk"
	case framePing:
		return "Ping"
	case framePong:
		return "Pong"
	case frameControl:
		return "Control"
	}
	return fmt.Sprintf("0x%02x", kind)
}

// encodeFrame lays out one frame. Bodies over maxBodySize are a programming error (every caller sizes them).
func encodeFrame(kind byte, body ...[]byte) []byte {
	size := 0
	for _, part := range body {
		size += len(part)
	}
	if size > maxBodySize {
		panic(fmt.Sprintf("frame body of %d bytes exceeds %d", size, maxBodySize))
	}
	frame := make([]byte, bodyOffset, bodyOffset+size)
	binary.BigEndian.PutUint32(frame, uint32(size+1))
	frame[headerSize] = kind
	for _, part := range body {
		frame = append(frame, part...)
	}
	return frame
}

// encodeError cuts text longer than a frame allows at a UTF-8 character boundary, as the Node relay does.
func encodeError(text string) []byte {
	body := []byte(text)
	if len(body) > maxBodySize {
		end := maxBodySize
		for end > 0 && body[end]&0xc0 == 0x80 {
			end--
		}
		body = body[:end]
	}
	return encodeFrame(frameError, body)
}

// parseExtensionList keeps the known ids of a Hello/Welcome body, once each, in their order: unknown ids are
// ignored so the list can grow.
func parseExtensionList(body []byte) []byte {
	var out []byte
	for _, id := range body {
		if (id == extAuth || id == extPing || id == extControl) && !containsByte(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func containsByte(list []byte, b byte) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

func frameLengthMessage(length uint32) string {
	return fmt.Sprintf("frame length %d outside %d..%d", length, minFrameLength, maxFrameLength)
}

// frameReader splits a TCP stream cut anywhere into frames. The unread tail of the last read moves to the front of
// its buffer before the next read, so every frame is one contiguous slice of the buffer (valid until the next
// fill) and the carry-over is at most one frame. A length prefix outside 1..65536 fails the stream as soon as its
// four bytes are in, after the frames before it: the framing is lost and stays lost.
//
// The buffer starts small and grows: to a frame's size when one does not fit, and up to maxReadBuffer while reads
// keep filling it. So a connection that only registers and keeps alive (or a garbage one) holds a few KiB, and a
// busy sender's burst still arrives in few reads and leaves in few writes.
type frameReader struct {
	buf        []byte
	start, end int
	failed     bool
	badLength  uint32
	// The last read filled all the space it was given: the next fill grows the buffer.
	filled bool
}

const (
	initialReadBuffer = 8 << 10
	maxReadBuffer     = 256 << 10
)

func newFrameReader(size int) *frameReader { return &frameReader{buf: make([]byte, size)} }

// next returns the next whole buffered frame, or nil when more bytes are needed or the framing is lost (then
// failed is set and badLength holds the offending prefix).
func (r *frameReader) next() []byte {
	if r.failed || r.end-r.start < headerSize {
		return nil
	}
	length := binary.BigEndian.Uint32(r.buf[r.start:])
	if length < minFrameLength || length > maxFrameLength {
		r.failed, r.badLength = true, length
		return nil
	}
	size := headerSize + int(length)
	if r.end-r.start < size {
		return nil
	}
	frame := r.buf[r.start : r.start+size : r.start+size]
	r.start += size
	return frame
}

// buffered: bytes of a partial frame held back until the rest arrives.
func (r *frameReader) buffered() int { return r.end - r.start }

// fill reads once more through read, first moving the partial frame to the front (and growing the buffer if the
// frame needs it or the last read filled it). Frames next returned before fill must not be used after it.
func (r *frameReader) fill(read func([]byte) (int, error)) (int, error) {
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	want := len(r.buf)
	if r.filled {
		want = min(maxReadBuffer, 4*len(r.buf))
	}
	if r.end >= headerSize && !r.failed {
		if length := binary.BigEndian.Uint32(r.buf); length <= maxFrameLength {
			want = max(want, headerSize+int(length))
		}
	}
	if want > len(r.buf) {
		grown := make([]byte, max(want, len(r.buf)))
		copy(grown, r.buf[:r.end])
		r.buf = grown
	}
	space := len(r.buf) - r.end
	n, err := read(r.buf[r.end:])
	r.end += n
	r.filled = n == space
	return n, err
}
