package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// A stream of every kind of frame, the largest one included.
func sampleStream() ([]byte, [][]byte) {
	key := bytes.Repeat([]byte{7}, keySize)
	frames := [][]byte{
		encodeFrame(frameRegister, key),
		encodeFrame(frameHello, allExtensions),
		encodeFrame(frameData, key, []byte("datagram")),
		encodeFrame(frameKeepalive),
		encodeFrame(frameData, key, bytes.Repeat([]byte{9}, maxBodySize-keySize)),
		encodeError("bye"),
	}
	return bytes.Join(frames, nil), frames
}

// readAll runs a reader over the stream cut at the given points and returns the frames and whether it failed.
func readAll(t *testing.T, stream []byte, cuts []int) ([][]byte, *frameReader) {
	t.Helper()
	reader := newFrameReader(initialReadBuffer)
	var got [][]byte
	chunks := split(stream, cuts)
	next := 0
	read := func(p []byte) (int, error) {
		if next == len(chunks) {
			return 0, io.EOF
		}
		n := copy(p, chunks[next])
		if n < len(chunks[next]) {
			chunks[next] = chunks[next][n:]
		} else {
			next++
		}
		return n, nil
	}
	for {
		_, err := reader.fill(read)
		for frame := reader.next(); frame != nil; frame = reader.next() {
			got = append(got, bytes.Clone(frame))
		}
		if reader.buffered() > maxFrameSize {
			t.Fatalf("carries %d bytes, more than one frame", reader.buffered())
		}
		if err != nil || reader.failed {
			return got, reader
		}
	}
}

func split(stream []byte, cuts []int) [][]byte {
	var chunks [][]byte
	last := 0
	for _, cut := range cuts {
		chunks = append(chunks, stream[last:cut])
		last = cut
	}
	return append(chunks, stream[last:])
}

func equalFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestFrameReaderEverySplitPoint(t *testing.T) {
	stream, want := sampleStream()
	for cut := 0; cut <= len(stream); cut += 1 + cut/64 {
		if got, _ := readAll(t, stream, []int{cut}); !equalFrames(got, want) {
			t.Fatalf("cut at %d: %d frames, want %d", cut, len(got), len(want))
		}
	}
}

func TestFrameReaderOneByteAndRandomReads(t *testing.T) {
	stream, want := sampleStream()
	small := bytes.Join(want[:3], nil)
	var cuts []int
	for i := 1; i < len(small); i++ {
		cuts = append(cuts, i)
	}
	if got, _ := readAll(t, small, cuts); !equalFrames(got, want[:3]) {
		t.Fatalf("one-byte reads: %d frames", len(got))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		cuts = cuts[:0]
		for at := rng.IntN(3000); at < len(stream); at += 1 + rng.IntN(20000) {
			cuts = append(cuts, at)
		}
		if got, _ := readAll(t, stream, cuts); !equalFrames(got, want) {
			t.Fatalf("cuts %v: %d frames", cuts, len(got))
		}
	}
}

func TestFrameReaderBadLengths(t *testing.T) {
	good := encodeFrame(frameKeepalive)
	for _, length := range []uint32{0, maxFrameLength + 1, 0xffffffff} {
		bad := binary.BigEndian.AppendUint32(nil, length)
		stream := append(append(bytes.Clone(good), bad...), good...)
		for cut := 0; cut <= len(stream); cut++ {
			got, reader := readAll(t, stream, []int{cut})
			if !reader.failed || reader.badLength != length {
				t.Fatalf("length %d cut %d: failed %v with %d", length, cut, reader.failed, reader.badLength)
			}
			if !equalFrames(got, [][]byte{good}) {
				t.Fatalf("length %d cut %d: the frame before the bad one was not delivered", length, cut)
			}
			if reader.next() != nil || !reader.failed {
				t.Fatal("a failed reader stays failed")
			}
		}
	}
	if frameLengthMessage(0) != "frame length 0 outside 1..65536" {
		t.Errorf("message %q", frameLengthMessage(0))
	}
}

func TestFrameLengthLimits(t *testing.T) {
	largest := encodeFrame(frameData, make([]byte, maxBodySize))
	if binary.BigEndian.Uint32(largest) != maxFrameLength || len(largest) != maxFrameSize {
		t.Fatalf("largest frame %d bytes", len(largest))
	}
	defer func() {
		if recover() == nil {
			t.Error("a body over the limit must panic")
		}
	}()
	encodeFrame(frameData, make([]byte, maxBodySize+1))
}

func TestEncodeErrorCutsAtACharacterBoundary(t *testing.T) {
	text := strings.Repeat("é", maxBodySize) // two bytes each
	frame := encodeError(text)
	body := frame[bodyOffset:]
	if len(body) > maxBodySize || !utf8.Valid(body) || len(body) < maxBodySize-1 {
		t.Fatalf("body of %d bytes, valid %v", len(body), utf8.Valid(body))
	}
	if got := encodeError("no route"); !bytes.Equal(got, append([]byte{0, 0, 0, 9, 0xff}, "no route"...)) {
		t.Errorf("Error frame % x", got)
	}
}

func TestExtensionListAndNames(t *testing.T) {
	if got := parseExtensionList([]byte{3, 9, 1, 3, 2, 0}); !bytes.Equal(got, []byte{3, 1, 2}) {
		t.Errorf("parsed %v", got)
	}
	for kind, name := range map[byte]string{frameRegister: "Register", frameHello: "Hello", frameControl: "Control", 0x42: "0x42", 0x05: "0x05"} {
		if got := frameTypeName(kind); got != name {
			t.Errorf("%#x: %s, want %s", kind, got, name)
		}
	}
}

func TestFrameReaderGrowsOnlyWhenNeeded(t *testing.T) {
	reader := newFrameReader(initialReadBuffer)
	keepalive := encodeFrame(frameKeepalive)
	for range 100 {
		_, _ = reader.fill(func(p []byte) (int, error) { return copy(p, keepalive), nil })
		for reader.next() != nil {
		}
	}
	if len(reader.buf) != initialReadBuffer {
		t.Fatalf("a keepalive-only connection holds %d bytes", len(reader.buf))
	}
	// A read that fills the buffer makes the next one larger, up to the maximum.
	stream := bytes.Repeat(encodeFrame(frameData, make([]byte, 1400)), 1000)
	offset := 0
	for range 10 {
		n, _ := reader.fill(func(p []byte) (int, error) { n := copy(p, stream[offset:]); offset += n; return n, nil })
		if n == 0 {
			break
		}
		for reader.next() != nil {
		}
	}
	if len(reader.buf) != maxReadBuffer {
		t.Errorf("a busy sender's buffer is %d bytes, want %d", len(reader.buf), maxReadBuffer)
	}
}
