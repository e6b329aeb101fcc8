package main

import "time"

var processStart = time.Now()

// monotonicNanos: nanoseconds on the monotonic clock since start, never 0, so 0 can mean "never" in the counters
// (ages are what crosses the process boundary, never these values).
func monotonicNanos() int64 { return int64(time.Since(processStart)) + 1 }
