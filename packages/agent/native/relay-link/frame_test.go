package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

func seq(n int, from byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

// The core frames byte for byte, as DESIGN.md's table lays them out.
func TestCoreFramesAreByteExact(t *testing.T) {
	key := seq(32, 1)
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"register", encodeRegister(key), "00000021" + "01" + hex.EncodeToString(key)},
		{"data", encodeData(key, []byte{0xde, 0xad}), "00000023" + "02" + hex.EncodeToString(key) + "dead"},
		{"keepalive", keepaliveFrame, "00000001" + "03"},
		{"hello", encodeHello([]byte{extAuth, extPing}), "00000003" + "10" + "0102"},
		{"pong keeps 8 token bytes", encodePong(seq(12, 0)), "00000009" + "31" + "0001020304050607"},
		{"proof", encodeAuthProof(seq(32, 0)), "00000021" + "21" + hex.EncodeToString(seq(32, 0))},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(c.got); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestPutDataHeaderFramesADatagramInPlace(t *testing.T) {
	key := seq(32, 7)
	frame := make([]byte, dataHeaderSize+3)
	copy(frame[dataHeaderSize:], "abc")
	putDataHeader(frame, key, 3)
	if !bytes.Equal(frame, encodeData(key, []byte("abc"))) {
		t.Fatalf("in-place header differs from encodeData: %x", frame)
	}
}

func TestParseExtensionListKeepsKnownIdsOnce(t *testing.T) {
	got := parseExtensionList([]byte{0x02, 0x09, 0x01, 0x02, 0x03, 0xff})
	if !bytes.Equal(got, []byte{extPing, extAuth, extControl}) {
		t.Fatalf("got %v", got)
	}
}

// chunked reads a stream in pieces of the given size, to cut frames anywhere.
type chunked struct {
	data []byte
	size int
}

func (c *chunked) read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(c.size, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestFrameReaderReassemblesFramesCutAnywhere(t *testing.T) {
	key := seq(32, 1)
	big := bytes.Repeat([]byte{0x5a}, maxDatagramSize)
	var stream []byte
	want := [][]byte{encodeRegister(key), keepaliveFrame, encodeData(key, []byte("x")), encodeData(key, big), encodeFrame(frameError, []byte("no"))}
	for _, f := range want {
		stream = append(stream, f...)
	}
	for _, size := range []int{1, 3, 4, 5, 37, 1000, 70000, len(stream)} {
		source := &chunked{data: append([]byte(nil), stream...), size: size}
		reader := newFrameReader()
		var got [][]byte
		for {
			err := reader.fill(source.read)
			for {
				frame, ferr := reader.next()
				if ferr != nil {
					t.Fatalf("size %d: %v", size, ferr)
				}
				if frame == nil {
					break
				}
				got = append(got, append([]byte(nil), frame...))
			}
			if err != nil {
				break
			}
		}
		if len(got) != len(want) {
			t.Fatalf("size %d: %d frames, want %d", size, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("size %d: frame %d differs", size, i)
			}
		}
	}
}

func TestFrameReaderRefusesLengthsOutsideTheRange(t *testing.T) {
	for _, header := range []string{"00000000", "00010001", "ffffffff"} {
		raw, _ := hex.DecodeString(header + "02")
		reader := newFrameReader()
		_ = reader.fill((&chunked{data: raw, size: len(raw)}).read)
		_, err := reader.next()
		var lengthErr frameLengthError
		if !errors.As(err, &lengthErr) {
			t.Errorf("%s: got %v, want a frame length error", header, err)
		}
	}
	// 65536 is the largest legal length.
	frame := encodeFrame(frameData, make([]byte, maxBodySize))
	reader := newFrameReader()
	_ = reader.fill((&chunked{data: frame, size: len(frame)}).read)
	if got, err := reader.next(); err != nil || len(got) != len(frame) {
		t.Fatalf("max frame: %d bytes, %v", len(got), err)
	}
}
