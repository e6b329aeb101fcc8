package main

// JSON lines shaped like the Node relay's pino output: `{"level":30,"time":<epoch ms>,"component":"wirekube-relay",
// <fields in order>,"msg":"..."}`, one event per line with an `event` key. Like the Node relay's pino (its `base`
// replaces pino's pid and hostname) there is no pid or hostname.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

type logLevel int

// pino's level numbers.
const (
	levelTrace logLevel = 10
	levelDebug logLevel = 20
	levelInfo  logLevel = 30
	levelWarn  logLevel = 40
	levelError logLevel = 50
	levelFatal logLevel = 60
	levelOff   logLevel = math.MaxInt32
)

var logLevelNames = map[string]logLevel{
	"trace": levelTrace, "debug": levelDebug, "info": levelInfo, "warn": levelWarn,
	"error": levelError, "fatal": levelFatal, "silent": levelOff,
}

func parseLogLevel(name string) (logLevel, bool) {
	level, ok := logLevelNames[name]
	return level, ok
}

// field is one key of a line; lines keep their fields in the order given, as pino does.
type field struct {
	key   string
	value any
}

type logger struct {
	mu        sync.Mutex
	w         io.Writer
	min       logLevel
	component string
	// now is the wall clock of the `time` key (tests fix it).
	now func() time.Time
}

func newLogger(w io.Writer, min logLevel) *logger {
	return &logger{w: w, min: min, component: "wirekube-relay", now: time.Now}
}

func (l *logger) enabled(level logLevel) bool { return level >= l.min }

// log writes one line with the event first, like the Node relay's relay-wide lines.
func (l *logger) log(level logLevel, event string, message string, fields ...field) {
	if !l.enabled(level) {
		return
	}
	l.write(level, message, append([]field{{"event", event}}, fields...))
}

// write writes one line with the fields in the order given (a connection's lines start with conn, remote, peer);
// fields whose value is nil are left out, like pino leaves out undefined.
func (l *logger) write(level logLevel, message string, fields []field) {
	line := make([]byte, 0, 256)
	line = fmt.Appendf(line, `{"level":%d,"time":%d,"component":%q`, int(level), l.now().UnixMilli(), l.component)
	for _, f := range fields {
		if f.value != nil {
			line = appendField(line, f.key, f.value)
		}
	}
	line = appendField(line, "msg", message)
	line = append(line, '}', '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	// A closed stdout (a pipe nobody reads any more) must never take the relay down.
	_, _ = l.w.Write(line)
}

func appendField(line []byte, key string, value any) []byte {
	encodedKey, _ := json.Marshal(key)
	encoded, err := json.Marshal(value)
	if err != nil {
		encoded, _ = json.Marshal(err.Error())
	}
	line = append(line, ',')
	line = append(line, encodedKey...)
	line = append(line, ':')
	return append(line, encoded...)
}

func (l *logger) debug(event, message string, fields ...field) {
	l.log(levelDebug, event, message, fields...)
}
func (l *logger) info(event, message string, fields ...field) {
	l.log(levelInfo, event, message, fields...)
}
func (l *logger) warn(event, message string, fields ...field) {
	l.log(levelWarn, event, message, fields...)
}
func (l *logger) error(event, message string, fields ...field) {
	l.log(levelError, event, message, fields...)
}
