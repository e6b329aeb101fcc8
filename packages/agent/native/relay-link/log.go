package main

// JSON lines in pino's shape (level number, time in ms, msg, the bound fields) with an `event` key, so the Node and
// the Go relay-link's logs read the same in the lab and in `kubectl logs`. Like the Node relay-link's pino (base
// { component: 'wirekube-relay-link' }) there is no pid/hostname: the start line carries the pid.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"sync"
	"time"
)

type logLevel int

const (
	levelTrace logLevel = 10
	levelDebug logLevel = 20
	levelInfo  logLevel = 30
	levelWarn  logLevel = 40
	levelError logLevel = 50
	levelFatal logLevel = 60
	levelOff   logLevel = 1000
)

func parseLogLevel(name string) (logLevel, error) {
	switch name {
	case "trace":
		return levelTrace, nil
	case "debug":
		return levelDebug, nil
	case "info", "":
		return levelInfo, nil
	case "warn":
		return levelWarn, nil
	case "error":
		return levelError, nil
	case "fatal":
		return levelFatal, nil
	case "silent":
		return levelOff, nil
	}
	return 0, fmt.Errorf("--log-level must be trace, debug, info, warn, error, fatal or silent, got %q", name)
}

type logger struct {
	out      *logOutput
	min      logLevel
	bindings map[string]any
}

// logOutput serializes lines from every goroutine onto one writer.
type logOutput struct {
	mu sync.Mutex
	w  io.Writer
}

func newLogger(w io.Writer, min logLevel, base map[string]any) *logger {
	return &logger{out: &logOutput{w: w}, min: min, bindings: base}
}

// child binds fields to every line (component, relay, peer), like pino's child loggers.
func (l *logger) child(fields map[string]any) *logger {
	bindings := maps.Clone(l.bindings)
	if bindings == nil {
		bindings = map[string]any{}
	}
	maps.Copy(bindings, fields)
	return &logger{out: l.out, min: l.min, bindings: bindings}
}

func (l *logger) enabled(level logLevel) bool { return level >= l.min }

func (l *logger) log(level logLevel, event string, fields map[string]any, message string) {
	if !l.enabled(level) {
		return
	}
	line := make(map[string]any, len(fields)+len(l.bindings)+6)
	maps.Copy(line, l.bindings)
	maps.Copy(line, fields)
	line["level"] = int(level)
	line["time"] = time.Now().UnixMilli()
	line["event"] = event
	line["msg"] = message
	text, err := json.Marshal(line)
	if err != nil {
		text = fmt.Appendf(nil, `{"level":50,"event":"log-encode-failed","msg":%q}`, err.Error())
	}
	l.out.mu.Lock()
	defer l.out.mu.Unlock()
	// A detached relay-link's output may be a file the agent rotated away or a closed pipe: a failed log line must
	// never take the relay path down.
	_, _ = l.out.w.Write(append(text, '\n'))
}

func (l *logger) debug(event string, fields map[string]any, message string) {
	l.log(levelDebug, event, fields, message)
}
func (l *logger) info(event string, fields map[string]any, message string) {
	l.log(levelInfo, event, fields, message)
}
func (l *logger) warn(event string, fields map[string]any, message string) {
	l.log(levelWarn, event, fields, message)
}

func (l *logger) emit(line logLine) { l.log(line.level, line.event, line.fields, line.message) }
