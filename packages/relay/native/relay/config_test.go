package main

import (
	"errors"
	"strings"
	"testing"
)

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestConfigDefaults(t *testing.T) {
	config, err := parseConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := programConfig{
		listenAddress: "0.0.0.0", port: 3478, httpAddress: "0.0.0.0", httpPort: 9090, extensions: true,
		maxQueueBytes: 4 << 20, sourcePenaltyBurst: 50, sourcePenaltyPerSecond: 5, logLevel: levelInfo,
		shutdownGraceSeconds: 10,
	}
	if *config != want {
		t.Errorf("%+v\nwant %+v", *config, want)
	}
}

func TestConfigFlagsWinOverEnvironment(t *testing.T) {
	env := envOf(map[string]string{
		"RELAY_LISTEN_ADDRESS": "10.0.0.1", "RELAY_PORT": "1000", "RELAY_HTTP_ADDRESS": "10.0.0.2",
		"RELAY_HTTP_PORT": "1001", "RELAY_REQUIRE_AUTH": "yes", "RELAY_MAX_QUEUE_BYTES": "70000",
		"RELAY_SOURCE_PENALTY_BURST": "0", "RELAY_SOURCE_PENALTY_PER_SECOND": "9", "LOG_LEVEL": "debug",
		"RELAY_SHUTDOWN_GRACE_SECONDS": "3",
	})
	config, err := parseConfig(nil, env)
	if err != nil {
		t.Fatal(err)
	}
	if config.listenAddress != "10.0.0.1" || config.port != 1000 || config.httpAddress != "10.0.0.2" ||
		config.httpPort != 1001 || !config.requireAuth || config.maxQueueBytes != 70000 ||
		config.sourcePenaltyBurst != 0 || config.sourcePenaltyPerSecond != 9 || config.logLevel != levelDebug ||
		config.shutdownGraceSeconds != 3 {
		t.Errorf("from the environment: %+v", *config)
	}
	config, err = parseConfig([]string{"--port", "2000", "--http-port=0", "--listen-address", "::",
		"--log-level", "warn", "--port", "2001", "--max-queue-bytes", "65540"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if config.port != 2001 || config.httpPort != 0 || config.listenAddress != "::" || config.logLevel != levelWarn ||
		config.maxQueueBytes != 65540 || config.httpAddress != "10.0.0.2" {
		t.Errorf("flags over the environment, the last repeat wins: %+v", *config)
	}
	config, err = parseConfig([]string{"--no-extensions"}, envOf(map[string]string{"RELAY_EXTENSIONS": "true"}))
	if err != nil || config.extensions {
		t.Errorf("--no-extensions: %+v %v", config, err)
	}
	config, err = parseConfig(nil, envOf(map[string]string{"RELAY_EXTENSIONS": "off"}))
	if err != nil || config.extensions {
		t.Errorf("RELAY_EXTENSIONS=off: %+v %v", config, err)
	}
}

func TestConfigHelp(t *testing.T) {
	config, err := parseConfig([]string{"--port", "1", "--help"}, envOf(nil))
	if config != nil || err != nil {
		t.Errorf("--help: %v %v", config, err)
	}
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	rows := []struct {
		argv     []string
		env      map[string]string
		argument string
		message  string
	}{
		{[]string{"--port", "x"}, nil, "port", "port must be an integer in 0..65535, got 'x'"},
		{[]string{"--port=99999"}, nil, "port", "port must be an integer in 0..65535, got '99999'"},
		{[]string{"--port=-1"}, nil, "port", "port must be an integer in 0..65535, got '-1'"},
		{nil, map[string]string{"RELAY_HTTP_PORT": ""}, "http-port", "http-port must be an integer in 0..65535, got ''"},
		{[]string{"--max-queue-bytes", "100"}, nil, "max-queue-bytes",
			"max-queue-bytes must be an integer in 65540..1073741824, got '100'"},
		{[]string{"--source-penalty-per-second", "0"}, nil, "source-penalty-per-second",
			"source-penalty-per-second must be an integer in 1..1000000, got '0'"},
		{[]string{"--shutdown-grace-seconds", "1.5"}, nil, "shutdown-grace-seconds",
			"shutdown-grace-seconds must be an integer in 0..3600, got '1.5'"},
		{nil, map[string]string{"RELAY_REQUIRE_AUTH": "maybe"}, "RELAY_REQUIRE_AUTH",
			"RELAY_REQUIRE_AUTH must be true or false, got 'maybe'"},
		{[]string{"--require-auth", "--no-extensions"}, nil, "require-auth",
			"--require-auth needs the extensions (drop --no-extensions)"},
		{[]string{"--log-level", "loud"}, nil, "log-level",
			"log-level must be trace, debug, info, warn, error, fatal or silent, got 'loud'"},
		{[]string{"--bogus"}, nil, "argv", "Unknown option '--bogus'"},
		{[]string{"-p"}, nil, "argv", "Unknown option '-p'"},
		{[]string{"--port"}, nil, "argv", "Option '--port <value>' argument missing"},
		{[]string{"--port", "--http-port", "1"}, nil, "argv", "Option '--port' argument is ambiguous."},
		{[]string{"--require-auth=1"}, nil, "argv", "Option '--require-auth' does not take an argument"},
		{[]string{"x"}, nil, "argv", "Unexpected argument 'x'. This command does not take positional arguments"},
		{[]string{"--", "x"}, nil, "argv", "Unexpected argument 'x'. This command does not take positional arguments"},
	}
	for _, row := range rows {
		_, err := parseConfig(row.argv, envOf(row.env))
		var configErr *configError
		if !errors.As(err, &configErr) {
			t.Errorf("%v: %v", row.argv, err)
			continue
		}
		if configErr.argument != row.argument || !strings.HasPrefix(configErr.message, row.message) {
			t.Errorf("%v %v: %s %q, want %s %q", row.argv, row.env, configErr.argument, configErr.message,
				row.argument, row.message)
		}
	}
}

func TestProgramExitCodes(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"--help"}, envOf(nil), &stdout, &stderr); code != 0 ||
		!strings.HasPrefix(stdout.String(), "Usage: wirekube-relay") {
		t.Errorf("--help: %d %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"--port", "x"}, envOf(nil), &stdout, &stderr); code != 2 ||
		!strings.HasPrefix(stderr.String(), "wirekube-relay: port must be an integer") ||
		!strings.Contains(stderr.String(), "\n\nUsage: wirekube-relay") {
		t.Errorf("bad flag: %d %q", code, stderr.String())
	}
}
