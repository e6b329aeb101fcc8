package main

// wirekube-relay's configuration from flags and environment, flags first (packages/relay/src/program/config.ts:
// the same flags, variables, defaults, ranges and messages, and Node's parseArgs rules: `--flag value` or
// `--flag=value`, booleans take no value, no positionals, the last of a repeated flag wins). Pure.

import (
	"fmt"
	"strconv"
	"strings"
)

type programConfig struct {
	listenAddress string
	port          int
	// Address and port of the HTTP server for /metrics, /healthz, /readyz.
	httpAddress string
	httpPort    int
	requireAuth bool
	// Offer the extensions (auth, ping, control); false makes a core-only relay.
	extensions             bool
	maxQueueBytes          int
	sourcePenaltyBurst     int
	sourcePenaltyPerSecond int
	logLevel               logLevel
	// Seconds to wait for clients to go away on SIGTERM before exiting anyway.
	shutdownGraceSeconds int
}

const usage = `Usage: wirekube-relay [options]

  --listen-address ADDR     relay TCP address            (env RELAY_LISTEN_ADDRESS, default 0.0.0.0)
  --port N                  relay TCP port               (env RELAY_PORT, default 3478)
  --http-address ADDR       metrics/health address       (env RELAY_HTTP_ADDRESS, default 0.0.0.0)
  --http-port N             metrics/health port          (env RELAY_HTTP_PORT, default 9090)
  --require-auth            route only keys proven by the auth extension (env RELAY_REQUIRE_AUTH=true)
  --no-extensions           speak only the four core frames (env RELAY_EXTENSIONS=false)
  --max-queue-bytes N       per-connection send queue bound (env RELAY_MAX_QUEUE_BYTES, default 4194304)
  --source-penalty-burst N  protocol violations one source address may commit at once before its new
                            connections are refused as they arrive; 0 = off, for a relay behind SNAT
                                                         (env RELAY_SOURCE_PENALTY_BURST, default 50)
  --source-penalty-per-second N  violations a source is forgiven per second
                                                         (env RELAY_SOURCE_PENALTY_PER_SECOND, default 5)
  --log-level LEVEL         pino level                   (env LOG_LEVEL, default info)
  --shutdown-grace-seconds N                             (env RELAY_SHUTDOWN_GRACE_SECONDS, default 10)
  --help
`

// configError names the flag or variable at fault (argument), like the Node relay's RelayArgumentError.
type configError struct {
	argument string
	message  string
}

func (e *configError) Error() string { return e.message }

var stringFlags = map[string]bool{
	"listen-address": true, "port": true, "http-address": true, "http-port": true, "max-queue-bytes": true,
	"source-penalty-burst": true, "source-penalty-per-second": true, "log-level": true,
	"shutdown-grace-seconds": true,
}

var booleanFlags = map[string]bool{"require-auth": true, "no-extensions": true, "help": true}

// parseFlags applies Node's parseArgs (strict, no positionals) to argv: string flags by name, booleans set.
func parseFlags(argv []string) (map[string]string, map[string]bool, error) {
	values, set := map[string]string{}, map[string]bool{}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			if i+1 < len(argv) {
				return nil, nil, unexpected(argv[i+1])
			}
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			return nil, nil, unexpected(arg)
		}
		name, inline, hasInline := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if !strings.HasPrefix(arg, "--") {
			return nil, nil, &configError{"argv", fmt.Sprintf("Unknown option '%s'", arg[:min(len(arg), 2)])}
		}
		switch {
		case stringFlags[name]:
			if hasInline {
				values[name] = inline
				continue
			}
			if i+1 >= len(argv) {
				return nil, nil, &configError{"argv", fmt.Sprintf("Option '--%s <value>' argument missing", name)}
			}
			next := argv[i+1]
			if strings.HasPrefix(next, "-") {
				return nil, nil, &configError{"argv", fmt.Sprintf("Option '--%s' argument is ambiguous.\n"+
					"Did you forget to specify the option argument for '--%s'?\n"+
					"To specify an option argument starting with a dash use '--%s=-XYZ'.", name, name, name)}
			}
			values[name] = next
			i++
		case booleanFlags[name]:
			if hasInline {
				return nil, nil, &configError{"argv", fmt.Sprintf("Option '--%s' does not take an argument", name)}
			}
			set[name] = true
		default:
			return nil, nil, &configError{"argv", fmt.Sprintf("Unknown option '--%s'", name)}
		}
	}
	return values, set, nil
}

func unexpected(arg string) error {
	return &configError{"argv", fmt.Sprintf("Unexpected argument '%s'. This command does not take positional arguments", arg)}
}

func integer(name, text string, lo, hi int) (int, error) {
	trimmed := strings.TrimSpace(text)
	value, err := strconv.Atoi(trimmed)
	digits := trimmed != "" && strings.Trim(trimmed, "0123456789") == ""
	if err != nil || !digits || value < lo || value > hi {
		return 0, &configError{name, fmt.Sprintf("%s must be an integer in %d..%d, got '%s'", name, lo, hi, text)}
	}
	return value, nil
}

func boolean(name, text string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off", "":
		return false, nil
	}
	return false, &configError{name, fmt.Sprintf("%s must be true or false, got '%s'", name, text)}
}

// parseConfig returns nil, nil for --help; errors are *configError.
func parseConfig(argv []string, env func(string) (string, bool)) (*programConfig, error) {
	values, set, err := parseFlags(argv)
	if err != nil {
		return nil, err
	}
	if set["help"] {
		return nil, nil
	}
	pick := func(flag, variable, fallback string) string {
		if v, ok := values[flag]; ok {
			return v
		}
		if v, ok := env(variable); ok {
			return v
		}
		return fallback
	}
	config := &programConfig{
		listenAddress: pick("listen-address", "RELAY_LISTEN_ADDRESS", "0.0.0.0"),
		httpAddress:   pick("http-address", "RELAY_HTTP_ADDRESS", "0.0.0.0"),
	}
	if set["require-auth"] {
		config.requireAuth = true
	} else if config.requireAuth, err = boolean("RELAY_REQUIRE_AUTH", pick("", "RELAY_REQUIRE_AUTH", "false")); err != nil {
		return nil, err
	}
	if set["no-extensions"] {
		config.extensions = false
	} else if config.extensions, err = boolean("RELAY_EXTENSIONS", pick("", "RELAY_EXTENSIONS", "true")); err != nil {
		return nil, err
	}
	if config.requireAuth && !config.extensions {
		return nil, &configError{"require-auth", "--require-auth needs the extensions (drop --no-extensions)"}
	}
	integers := []struct {
		target         *int
		flag, variable string
		fallback       string
		lo, hi         int
	}{
		{&config.port, "port", "RELAY_PORT", "3478", 0, 65535},
		{&config.httpPort, "http-port", "RELAY_HTTP_PORT", "9090", 0, 65535},
		{&config.maxQueueBytes, "max-queue-bytes", "RELAY_MAX_QUEUE_BYTES", strconv.Itoa(4 << 20), 65540, 1 << 30},
		{&config.sourcePenaltyBurst, "source-penalty-burst", "RELAY_SOURCE_PENALTY_BURST", "50", 0, 1_000_000},
		{&config.sourcePenaltyPerSecond, "source-penalty-per-second", "RELAY_SOURCE_PENALTY_PER_SECOND", "5", 1, 1_000_000},
		{&config.shutdownGraceSeconds, "shutdown-grace-seconds", "RELAY_SHUTDOWN_GRACE_SECONDS", "10", 0, 3600},
	}
	for _, spec := range integers {
		if *spec.target, err = integer(spec.flag, pick(spec.flag, spec.variable, spec.fallback), spec.lo, spec.hi); err != nil {
			return nil, err
		}
	}
	levelName := pick("log-level", "LOG_LEVEL", "info")
	level, ok := parseLogLevel(levelName)
	if !ok {
		return nil, &configError{"log-level", fmt.Sprintf(
			"log-level must be trace, debug, info, warn, error, fatal or silent, got '%s'", levelName)}
	}
	config.logLevel = level
	return config, nil
}
