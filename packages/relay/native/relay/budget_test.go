package main

import (
	"net/netip"
	"testing"
)

func TestBucketRefillsAndCaps(t *testing.T) {
	config := bucketConfig{perSecond: 5, burst: 2}
	b := fullBucket(config, 0)
	var taken bool
	for i, want := range []bool{true, true, false} {
		if b, taken = b.take(0, config); taken != want {
			t.Fatalf("take %d: %v", i, taken)
		}
	}
	if _, taken = b.take(199, config); taken {
		t.Error("refilled before 200 ms at 5/s")
	}
	if _, taken = b.take(200, config); !taken {
		t.Error("not refilled after 200 ms")
	}
	if got := b.refill(1e9, config).tokens; got != 2 {
		t.Errorf("refilled beyond the burst: %v", got)
	}
	if got := b.refill(-5, config); got.tokens != 0 || got.refilledAt != 0 {
		t.Errorf("a clock that steps back refilled: %+v", got)
	}
}

func TestLogBudgetCountsSuppressedLines(t *testing.T) {
	config := bucketConfig{perSecond: 1, burst: 2}
	budget := logBudget{bucket: fullBucket(config, 0)}
	var written int
	for range 5 {
		var write bool
		if budget, write = budget.spend(0, config); write {
			written++
		}
	}
	budget, suppressed := budget.takeSuppressed()
	if written != 2 || suppressed != 3 {
		t.Fatalf("written %d suppressed %d", written, suppressed)
	}
	if _, again := budget.takeSuppressed(); again != 0 {
		t.Error("the count is reset by a report")
	}
	if _, write := budget.spend(1000, config); !write {
		t.Error("a line a second is written")
	}
}

func TestSourceOf(t *testing.T) {
	for text, want := range map[string]string{
		"10.1.2.3":                   "10.1.2.3",
		"::ffff:10.1.2.3":            "10.1.2.3",
		"2001:db8:0:12::1":           "2001:db8:0:12::/64",
		"2001:0db8:00a0:0001:ffff::": "2001:db8:a0:1::/64",
		"::1":                        "0:0:0:0::/64",
		"fe80::1%eth0":               "fe80:0:0:0::/64",
	} {
		if got := sourceOf(netip.MustParseAddr(text)); got != want {
			t.Errorf("%s: %s, want %s", text, got, want)
		}
	}
	if sourceOf(netip.Addr{}) != "" {
		t.Error("no address, no source")
	}
}

func TestPenaltyEpisode(t *testing.T) {
	config := penaltyConfig{bucketConfig{perSecond: 5, burst: 3}}
	var record *sourceRecord
	if !admits(record, 0, config) {
		t.Fatal("a source never struck is admitted")
	}
	var logged int
	for range 3 {
		next, penalizedNow := strike(record, 0, config)
		record = &next
		if penalizedNow {
			logged++
		}
	}
	if admits(record, 0, config) || logged != 1 {
		t.Fatalf("after the burst: admitted %v, logged %d", admits(record, 0, config), logged)
	}
	if !admits(record, 200, config) {
		t.Fatal("a strike regained after 200 ms at 5/s")
	}
	next, penalizedNow := strike(record, 200, config)
	if record = &next; penalizedNow {
		t.Error("one warning per episode: the persistent source is not logged again")
	}
	if forgiven(*record, 599, config) || !forgiven(*record, 800, config) {
		t.Error("forgiven once the bucket is full again (600 ms for 3 strikes at 5/s)")
	}
	off := penaltyConfig{bucketConfig{perSecond: 5, burst: 0}}
	if !admits(record, 0, off) {
		t.Error("burst 0 turns the penalty off")
	}
}
