package main

// The counters the relay bumps on its hot path (packages/relay/src/server/stats.ts): atomics, added once per read,
// read by the metrics at scrape time, so forwarding does no metric work.

import "sync/atomic"

// dropReasons in the order of the Node relay's DROP_REASONS (the metric's label values).
var dropReasons = []string{"no_route", "queue_full", "unregistered", "malformed", "self", "rate_limited", "no_control"}

const (
	dropNoRoute = iota
	dropQueueFull
	dropUnregistered
	dropMalformed
	dropSelf
	dropRateLimited
	dropNoControl
)

type relayStats struct {
	connectionsAccepted atomic.Uint64
	// Connections closed as they arrived because their source had spent its strikes.
	connectionsPenalized atomic.Uint64
	framesForwarded      atomic.Uint64
	bytesForwarded       atomic.Uint64
	controlForwarded     atomic.Uint64
	drops                [7]atomic.Uint64
	protocolErrors       atomic.Uint64
	authSuccesses        atomic.Uint64
	authFailures         atomic.Uint64
	// Registrations that replaced an older connection for the same key after proving ownership.
	replacements atomic.Uint64
	// Registrations refused because the key was taken and ownership was not proven.
	refusedRegistrations atomic.Uint64
}
