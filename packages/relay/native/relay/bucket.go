package main

// A token bucket as a plain value, pure (packages/relay/src/server/token-bucket.ts): the relay's budgets (log
// lines, Control frames, a source's strikes) are all "so many per second, so many at once", and a value with a
// timestamp needs no timer to refill. Times are milliseconds on the monotonic clock, as floats like Node's.

type bucketConfig struct {
	perSecond float64
	burst     float64
}

type bucket struct {
	tokens     float64
	refilledAt float64
}

func fullBucket(config bucketConfig, now float64) bucket { return bucket{config.burst, now} }

// refill: the bucket as it stands at now (a clock that steps back refills nothing).
func (b bucket) refill(now float64, config bucketConfig) bucket {
	elapsed := max(0, now-b.refilledAt)
	return bucket{min(config.burst, b.tokens+elapsed*config.perSecond/1000), max(now, b.refilledAt)}
}

// take takes one token if there is one.
func (b bucket) take(now float64, config bucketConfig) (bucket, bool) {
	current := b.refill(now, config)
	if current.tokens >= 1 {
		current.tokens--
		return current, true
	}
	return current, false
}

// logBudget is the relay-wide budget of per-connection log lines (packages/relay/src/server/log-budget.ts): anyone
// can open connections, and a line each is a cost an attacker would choose. Lines over it are counted and
// reported once per sweep.
type logBudget struct {
	bucket
	suppressed int
}

func (b logBudget) spend(now float64, config bucketConfig) (logBudget, bool) {
	next, taken := b.take(now, config)
	out := logBudget{next, b.suppressed}
	if !taken {
		out.suppressed++
	}
	return out, taken
}

// takeSuppressed: the count for a summary line (0: nothing to say), and the budget with it reset.
func (b logBudget) takeSuppressed() (logBudget, int) {
	return logBudget{b.bucket, 0}, b.suppressed
}
