package main

// Which sources may open connections (packages/relay/src/server/source-penalty.ts). A connection that broke the
// protocol (a bad frame, a failed proof) or ended without ever registering spends one strike of its source's
// bucket; while a source has none, its new connections are closed right after accept(), counted, and one
// `source-penalized` warning is written per episode. A source is an IPv4 address or an IPv6 /64. Pure.

import (
	"fmt"
	"net/netip"
	"strings"
)

type penaltyConfig struct {
	bucketConfig
}

func (c penaltyConfig) off() bool { return c.burst == 0 }

// sourceRecord: a struck source's strikes left, and whether it ran out of them since it was last forgiven.
type sourceRecord struct {
	bucket
	penalized bool
}

// sourceOf is the address a penalty applies to, formatted like the Node relay's (IPv4-mapped IPv6 as IPv4, IPv6
// as its /64 with zero-stripped groups), or "" for none.
func sourceOf(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	raw := addr.As16()
	groups := make([]string, 4)
	for i := range groups {
		groups[i] = fmt.Sprintf("%x", uint16(raw[2*i])<<8|uint16(raw[2*i+1]))
	}
	return strings.Join(groups, ":") + "::/64"
}

// admits: whether a source with this record (nil: never struck) may open a connection now.
func admits(record *sourceRecord, now float64, config penaltyConfig) bool {
	if config.off() || record == nil {
		return true
	}
	return record.refill(now, config.bucketConfig).tokens >= 1
}

// strike spends one strike. penalizedNow is true for the strike that first empties the bucket since the source
// was last forgiven: one log line per episode, however often a persistent source regains a strike and spends it.
func strike(record *sourceRecord, now float64, config penaltyConfig) (sourceRecord, bool) {
	start := fullBucket(config.bucketConfig, now)
	wasPenalized := false
	if record != nil {
		start, wasPenalized = record.bucket, record.penalized
	}
	spent, _ := start.take(now, config.bucketConfig)
	empty := spent.tokens < 1
	return sourceRecord{spent, wasPenalized || empty}, empty && !wasPenalized
}

// forgiven: a source whose bucket has refilled is as good as never struck and can be dropped.
func forgiven(record sourceRecord, now float64, config penaltyConfig) bool {
	return record.refill(now, config.bucketConfig).tokens >= config.burst
}
