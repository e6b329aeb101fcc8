package main

import (
	"math"
	"time"
)

// backoffPolicy: reconnect delays exponential from 1 s, capped at 30 s (seed), plus up to jitter×delay at random so
// that the clients of a restarted relay do not all come back in the same millisecond
// (packages/relay/src/client/backoff.ts).
type backoffPolicy struct {
	initial, max time.Duration
	jitter       float64
}

var defaultBackoff = backoffPolicy{initial: time.Second, max: 30 * time.Second, jitter: 0.2}

// delay for the given attempt (0 = the first retry); random returns [0, 1).
func (p backoffPolicy) delay(attempt int, random func() float64) time.Duration {
	base := math.Min(float64(p.max), float64(p.initial)*math.Pow(2, float64(max(0, attempt))))
	return time.Duration(math.Min(float64(p.max), base*(1+p.jitter*random())))
}
