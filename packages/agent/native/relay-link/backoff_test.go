package main

import (
	"testing"
	"time"
)

func TestBackoffDoublesFromOneSecondToThirty(t *testing.T) {
	never := func() float64 { return 0 }
	always := func() float64 { return 0.999999 }
	cases := []struct {
		attempt  int
		random   func() float64
		min, max time.Duration
	}{
		{0, never, time.Second, time.Second},
		{1, never, 2 * time.Second, 2 * time.Second},
		{4, never, 16 * time.Second, 16 * time.Second},
		{5, never, 30 * time.Second, 30 * time.Second},
		{50, never, 30 * time.Second, 30 * time.Second},
		{-1, never, time.Second, time.Second},
		// Jitter adds up to 20 %, never beyond the cap.
		{0, always, 1199 * time.Millisecond, 1200 * time.Millisecond},
		{4, always, 19199 * time.Millisecond, 19200 * time.Millisecond},
		{5, always, 30 * time.Second, 30 * time.Second},
	}
	for _, c := range cases {
		got := defaultBackoff.delay(c.attempt, c.random)
		if got < c.min || got > c.max {
			t.Errorf("attempt %d: %v, want %v..%v", c.attempt, got, c.min, c.max)
		}
	}
}
