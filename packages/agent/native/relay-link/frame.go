package main

// The relay frame layout (DESIGN.md "Relay wire protocol", packages/relay/src/codec/frame.ts):
//
//	[u32 big-endian length N][u8 type][N-1 bytes body],  1 <= N <= 65536
//
// The four core frames (Register, Data, Keepalive, Error) must stay byte-exact with every other implementation of
// this framing; the extension frames are only ever sent after Hello/Welcome agreed on them.

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
	// The largest datagram one Data frame carries after its key.
	maxDatagramSize = maxBodySize - keySize

	nonceSize     = 32
	proofSize     = 32
	pingTokenSize = 8
)

// Frame types. Core first, then the negotiated extensions.
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

// encodeFrame lays out one frame; bodies over maxBodySize are a programming error here (every caller sizes them).
func encodeFrame(kind byte, body []byte) []byte {
	if len(body) > maxBodySize {
		panic(fmt.Sprintf("frame body of %d bytes exceeds %d", len(body), maxBodySize))
	}
	frame := make([]byte, bodyOffset+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body)+1))
	frame[headerSize] = kind
	copy(frame[bodyOffset:], body)
	return frame
}

func encodeRegister(publicKey []byte) []byte { return encodeFrame(frameRegister, publicKey) }

func encodeData(key, datagram []byte) []byte {
	frame := make([]byte, dataHeaderSize+len(datagram))
	putDataHeader(frame, key, len(datagram))
	copy(frame[dataHeaderSize:], datagram)
	return frame
}

// putDataHeader writes the 37-byte Data header in front of a datagram that is (or will be) at frame[37:], so a
// datagram read straight into a frame buffer needs no copy.
func putDataHeader(frame, key []byte, datagramLength int) {
	binary.BigEndian.PutUint32(frame, uint32(1+keySize+datagramLength))
	frame[headerSize] = frameData
	copy(frame[bodyOffset:dataHeaderSize], key)
}

var keepaliveFrame = encodeFrame(frameKeepalive, nil)

func encodeHello(ids []byte) []byte { return encodeFrame(frameHello, ids) }

func encodeAuthProof(proof []byte) []byte { return encodeFrame(frameAuthProof, proof) }

func encodePing(token []byte) []byte { return encodeFrame(framePing, token) }

// encodePong answers a Ping with (at most) the first 8 bytes of its token, as the Node client does.
func encodePong(token []byte) []byte {
	if len(token) > pingTokenSize {
		token = token[:pingTokenSize]
	}
	return encodeFrame(framePong, token)
}

// parseExtensionList keeps the known ids of a Hello/Welcome body, once each: unknown ids are ignored so the list
// can grow.
func parseExtensionList(body []byte) []byte {
	var out []byte
	for _, id := range body {
		if id != extAuth && id != extPing && id != extControl {
			continue
		}
		if !containsByte(out, id) {
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

// frameLengthError: a length prefix outside 1..65536; the stream has lost its framing and the connection must go.
type frameLengthError struct{ length uint32 }

func (e frameLengthError) Error() string {
	return fmt.Sprintf("frame length %d outside %d..%d", e.length, minFrameLength, maxFrameLength)
}

// frameReader splits a TCP stream into frames. It keeps the unread tail of the last read at the front of its
// buffer, so a frame is always handed out as one contiguous slice of it (valid until the next fill).
type frameReader struct {
	buf        []byte
	start, end int
}

const readBufferSize = 256 << 10

func newFrameReader() *frameReader { return &frameReader{buf: make([]byte, readBufferSize)} }

// next returns the next whole frame already buffered, or nil when more bytes are needed.
func (r *frameReader) next() ([]byte, error) {
	if r.end-r.start < headerSize {
		return nil, nil
	}
	length := binary.BigEndian.Uint32(r.buf[r.start:])
	if length < minFrameLength || length > maxFrameLength {
		return nil, frameLengthError{length}
	}
	size := headerSize + int(length)
	if r.end-r.start < size {
		return nil, nil
	}
	frame := r.buf[r.start : r.start+size]
	r.start += size
	return frame, nil
}

// fill reads once more from src, first moving the partial frame to the front. Frames returned by next before
// fill must not be used after it.
func (r *frameReader) fill(read func([]byte) (int, error)) error {
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	n, err := read(r.buf[r.end:])
	r.end += n
	return err
}
