package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

func sized(sizes ...int) [][]byte {
	out := make([][]byte, len(sizes))
	for i, n := range sizes {
		out[i] = make([]byte, n)
	}
	return out
}

func TestSegmentGroup(t *testing.T) {
	cases := []struct {
		name        string
		sizes       []int
		maxSegments int
		maxBytes    int
		want        int
	}{
		{"one datagram", []int{1452}, 64, 65000, 1},
		{"a run of one size", []int{1452, 1452, 1452}, 64, 65000, 3},
		{"a shorter one ends the group and belongs to it", []int{1452, 1452, 80, 1452}, 64, 65000, 3},
		{"a longer one starts the next group", []int{80, 1452}, 64, 65000, 1},
		{"at most maxSegments", []int{100, 100, 100, 100}, 3, 65000, 3},
		{"at most maxBytes", []int{1000, 1000, 1000}, 64, 2500, 2},
		{"an empty datagram is alone", []int{0, 0}, 64, 65000, 1},
		{"an empty one is not a short last segment", []int{100, 0}, 64, 65000, 1},
	}
	for _, c := range cases {
		if got := segmentGroup(sized(c.sizes...), c.maxSegments, c.maxBytes); got != c.want {
			t.Errorf("%s: segmentGroup(%v) = %d, want %d", c.name, c.sizes, got, c.want)
		}
	}
}

// The delivery side through a real loopback socket: what goes out as GSO groups arrives as the datagrams it was,
// in order, each on its own.
func TestDeliveryArrivesDatagramByDatagram(t *testing.T) {
	wireguard, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer wireguard.Close()
	_ = wireguard.SetReadBuffer(socketBufferBytes) // two full batches outgrow a default receive buffer
	proxy := newUDPProxy(wireguard.LocalAddr().(*net.UDPAddr).Port, nil, newLogger(io.Discard, levelOff, nil))
	defer proxy.close()
	var key [keySize]byte
	key[0] = 7
	if _, err := proxy.addPeer(key); err != nil {
		t.Fatal(err)
	}
	sizes := []int{1452, 1452, 1452, 1452, 300, 1452, 1452, 60, 1, 1452}
	for len(sizes) < 150 {
		sizes = append(sizes, 1452) // more than one batch and more than one group of 64
	}
	var sent [][]byte
	for i, n := range sizes {
		sent = append(sent, bytes.Repeat([]byte{byte(i)}, n))
	}
	// Read while sending: 150 full datagrams are more than a default receive buffer holds.
	received := make(chan error, 1)
	go func() {
		buf := make([]byte, 65536)
		for i, want := range sent {
			_ = wireguard.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := wireguard.ReadFromUDP(buf)
			if err != nil {
				received <- fmt.Errorf("datagram %d: %w", i, err)
				return
			}
			if !bytes.Equal(buf[:n], want) {
				received <- fmt.Errorf("datagram %d: %d bytes of %d, want %d of %d", i, n, buf[0], len(want), want[0])
				return
			}
		}
		received <- nil
	}()
	sink := proxy.newSink()
	for _, datagram := range sent {
		sink.deliver(key[:], datagram) // a full batch (64) flushes by itself
	}
	sink.flush()
	if err := <-received; err != nil {
		t.Fatal(err)
	}
	if !udpGSO.Load() {
		t.Log("the kernel refused UDP GSO: sent datagram by datagram")
	}
}
