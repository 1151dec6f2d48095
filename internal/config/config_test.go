package config_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/config"
)

func TestIngestMaxBacklogFromEnv(t *testing.T) {
	t.Setenv("EVENTPULSE_INGEST_MAX_BACKLOG", "")
	c, err := config.FromEnv()
	require.NoError(t, err)
	require.Equal(t, config.IngestMaxBacklogDefault, c.IngestMaxBacklog)

	t.Setenv("EVENTPULSE_INGEST_MAX_BACKLOG", "250")
	c, err = config.FromEnv()
	require.NoError(t, err)
	require.Equal(t, 250, c.IngestMaxBacklog)

	t.Setenv("EVENTPULSE_INGEST_MAX_BACKLOG", "-1")
	_, err = config.FromEnv()
	require.ErrorContains(t, err, "invalid EVENTPULSE_INGEST_MAX_BACKLOG -1: must be at least 1")

	t.Setenv("EVENTPULSE_INGEST_MAX_BACKLOG", "many")
	_, err = config.FromEnv()
	require.ErrorContains(t, err, "EVENTPULSE_INGEST_MAX_BACKLOG")
}

// fromEnvError sets name to value and returns the error of config.FromEnv.
func fromEnvError(t *testing.T, name, value string) error {
	t.Helper()
	t.Setenv(name, value)
	_, err := config.FromEnv()

	return err
}

func TestEmptyVariablesTakeDefaults(t *testing.T) {
	// docker-compose.yml passes each of these as ${NAME:-}, an empty value
	// when .env does not set it.
	for _, name := range []string{
		"DATABASE_URL", "REDIS_URL", "EVENTPULSE_HTTP_ADDR", "EVENTPULSE_WORKER_ADDR", "EVENTPULSE_PPROF_ADDR",
		"EVENTPULSE_LOG_LEVEL", "EVENTPULSE_STREAM_PREFIX", "EVENTPULSE_CONSUMER_NAME", "EVENTPULSE_DATABASE_MAX_CONNS",
		"EVENTPULSE_INGEST_LINGER", "EVENTPULSE_INGEST_QUIET", "EVENTPULSE_INGEST_MAX_BATCH", "EVENTPULSE_INGEST_MAX_BACKLOG",
		"EVENTPULSE_INGEST_LANES", "EVENTPULSE_MAX_BODY_BYTES", "EVENTPULSE_SHUTDOWN_TIMEOUT",
		"EVENTPULSE_HTTP_READ_HEADER_TIMEOUT", "EVENTPULSE_HTTP_READ_TIMEOUT", "EVENTPULSE_HTTP_WRITE_TIMEOUT",
		"EVENTPULSE_HTTP_IDLE_TIMEOUT", "EVENTPULSE_CORS_ORIGINS", "EVENTPULSE_INGEST_RATE", "EVENTPULSE_INGEST_BURST",
		"EVENTPULSE_RULE_REPLY_TIMEOUT", "EVENTPULSE_CLAIM_IDLE", "EVENTPULSE_MAX_DELIVERIES", "EVENTPULSE_TRIM_INTERVAL",
		"EVENTPULSE_NOTIFY_CONFIG",
	} {
		t.Setenv(name, "")
	}

	c, err := config.FromEnv()
	require.NoError(t, err)
	require.Equal(t, float64(config.IngestRateDefault), c.IngestRate)
	require.Equal(t, config.IngestBurstDefault, c.IngestBurst)
	require.Equal(t, config.LogLevelDefault, c.LogLevel)
	require.Equal(t, config.HTTPAddrDefault, c.HTTPAddr)
	require.Equal(t, config.TrimIntervalDefault, c.TrimInterval)
	require.Nil(t, c.CORSOrigins)
	require.Empty(t, c.NotifyConfigPath)
}

func TestIngestRateRejectsNonFinite(t *testing.T) {
	for value, message := range map[string]string{
		"NaN":  "invalid EVENTPULSE_INGEST_RATE NaN: must be a positive number of events per second, or 0 for no limit",
		"Inf":  "invalid EVENTPULSE_INGEST_RATE +Inf: must be a positive number of events per second, or 0 for no limit",
		"-Inf": "invalid EVENTPULSE_INGEST_RATE -Inf: must be a positive number of events per second, or 0 for no limit",
		"-5":   "invalid EVENTPULSE_INGEST_RATE -5: must be a positive number of events per second, or 0 for no limit",
		"fast": `invalid EVENTPULSE_INGEST_RATE "fast": must be a number`,
	} {
		require.EqualError(t, fromEnvError(t, "EVENTPULSE_INGEST_RATE", value), message, value)
	}
}

func TestIngestRateAcceptsZeroAndPositive(t *testing.T) {
	t.Setenv("EVENTPULSE_INGEST_RATE", "0")
	c, err := config.FromEnv()
	require.NoError(t, err)
	require.Zero(t, c.IngestRate, "0 turns the limit off")

	t.Setenv("EVENTPULSE_INGEST_RATE", "1e-9")
	c, err = config.FromEnv()
	require.NoError(t, err)
	require.Equal(t, 1e-9, c.IngestRate)
}

func TestIngestBurstBelowLargestBatch(t *testing.T) {
	for _, value := range []string{"-1", "999"} {
		require.EqualError(t, fromEnvError(t, "EVENTPULSE_INGEST_BURST", value),
			"invalid EVENTPULSE_INGEST_BURST "+value+": must be at least 1000, the max number of events in a batch request, so that every batch can pass the rate limit")
	}

	t.Setenv("EVENTPULSE_INGEST_BURST", "1000")
	c, err := config.FromEnv()
	require.NoError(t, err)
	require.Equal(t, 1000, c.IngestBurst)
}

func TestCORSOriginsRejectsNonOrigins(t *testing.T) {
	for value, message := range map[string]string{
		"*":                           `invalid EVENTPULSE_CORS_ORIGINS entry "*": a wildcard is not supported; list each origin, such as https://ops.example.com`,
		"not an origin":               `invalid EVENTPULSE_CORS_ORIGINS entry "not an origin": not an origin; use scheme://host[:port], such as https://ops.example.com`,
		"ops.example.com":             `invalid EVENTPULSE_CORS_ORIGINS entry "ops.example.com": not an origin; use scheme://host[:port], such as https://ops.example.com`,
		"ftp://ops.example.com":       `invalid EVENTPULSE_CORS_ORIGINS entry "ftp://ops.example.com": the scheme must be http or https`,
		"https://ops.example.com/app": `invalid EVENTPULSE_CORS_ORIGINS entry "https://ops.example.com/app": an origin has no user, path, query or fragment; use scheme://host[:port]`,
		"https://ops.example.com//":   `invalid EVENTPULSE_CORS_ORIGINS entry "https://ops.example.com//": an origin has no user, path, query or fragment; use scheme://host[:port]`,
		"https://ops.example.com?a=1": `invalid EVENTPULSE_CORS_ORIGINS entry "https://ops.example.com?a=1": an origin has no user, path, query or fragment; use scheme://host[:port]`,
		"https://ops.example.com#top": `invalid EVENTPULSE_CORS_ORIGINS entry "https://ops.example.com#top": an origin has no user, path, query or fragment; use scheme://host[:port]`,
		"https://me@ops.example.com":  `invalid EVENTPULSE_CORS_ORIGINS entry "https://me@ops.example.com": an origin has no user, path, query or fragment; use scheme://host[:port]`,
		"https://:8443":               `invalid EVENTPULSE_CORS_ORIGINS entry "https://:8443": the host is missing; use scheme://host[:port]`,
		"https://ops.example.com:0":   `invalid EVENTPULSE_CORS_ORIGINS entry "https://ops.example.com:0": the port must be a number from 1 to 65535`,
		"https://ops.example.com:1e3": `invalid EVENTPULSE_CORS_ORIGINS entry "https://ops.example.com:1e3": not an origin; use scheme://host[:port], such as https://ops.example.com`,
	} {
		require.EqualError(t, fromEnvError(t, "EVENTPULSE_CORS_ORIGINS", "https://good.example.com,"+value), message, value)
	}
}

func TestCORSOriginsNormalized(t *testing.T) {
	t.Setenv("EVENTPULSE_CORS_ORIGINS", "https://ops.example.com/, HTTPS://OPS2.EXAMPLE.COM,http://localhost:5173,https://a.example.com:443,http://[::1]:80,http://[::1]:8080")
	c, err := config.FromEnv()
	require.NoError(t, err)
	require.Equal(t, []string{
		"https://ops.example.com",
		"https://ops2.example.com",
		"http://localhost:5173",
		"https://a.example.com",
		"http://[::1]",
		"http://[::1]:8080",
	}, c.CORSOrigins)
}

func TestLogLevelOnlyFourNames(t *testing.T) {
	for _, value := range []string{"info+2", "ERROR-8", "warning", "trace", "-4"} {
		require.EqualError(t, fromEnvError(t, "EVENTPULSE_LOG_LEVEL", value),
			`invalid EVENTPULSE_LOG_LEVEL "`+value+`": use debug, info, warn or error`)
	}

	for value, level := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warn": slog.LevelWarn, "error": slog.LevelError} {
		t.Setenv("EVENTPULSE_LOG_LEVEL", value)
		c, err := config.FromEnv()
		require.NoError(t, err, value)
		got, err := c.SlogLevel()
		require.NoError(t, err, value)
		require.Equal(t, level, got, value)
	}
}

func TestListenAddrsRejectBadPorts(t *testing.T) {
	for _, name := range []string{"EVENTPULSE_HTTP_ADDR", "EVENTPULSE_WORKER_ADDR"} {
		require.EqualError(t, fromEnvError(t, name, "0.0.0.0:99999"),
			"invalid "+name+` "0.0.0.0:99999": the port must be a number from 0 to 65535`)
		require.EqualError(t, fromEnvError(t, name, "0.0.0.0:http"),
			"invalid "+name+` "0.0.0.0:http": the port must be a number from 0 to 65535`)
		require.EqualError(t, fromEnvError(t, name, "8080"),
			"invalid "+name+` "8080": address 8080: missing port in address`)
		t.Setenv(name, "")
	}

	t.Setenv("EVENTPULSE_HTTP_ADDR", "127.0.0.1:0")
	_, err := config.FromEnv()
	require.NoError(t, err, "port 0 picks a free port")
}

func TestPprofAddrMustBeLoopback(t *testing.T) {
	for _, value := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "pprof.example.com:6060"} {
		require.EqualError(t, fromEnvError(t, "EVENTPULSE_PPROF_ADDR", value),
			`invalid EVENTPULSE_PPROF_ADDR "`+value+`": must be a loopback address such as 127.0.0.1:6060`)
	}

	require.EqualError(t, fromEnvError(t, "EVENTPULSE_PPROF_ADDR", "127.0.0.1:99999"),
		`invalid EVENTPULSE_PPROF_ADDR "127.0.0.1:99999": the port must be a number from 0 to 65535`)

	for _, value := range []string{"127.0.0.1:6060", "localhost:6060", "[::1]:6060"} {
		t.Setenv("EVENTPULSE_PPROF_ADDR", value)
		c, err := config.FromEnv()
		require.NoError(t, err, value)
		require.Equal(t, value, c.PprofAddr)
	}
}

func TestDatabaseURLParsedWithoutConnecting(t *testing.T) {
	require.EqualError(t, fromEnvError(t, "DATABASE_URL", "not a url ::"),
		"invalid DATABASE_URL: cannot parse `not a url ::`: failed to parse as keyword/value (invalid keyword/value)")

	err := fromEnvError(t, "DATABASE_URL", "postgres://user:secret@db.example.com:99999/eventpulse")
	require.EqualError(t, err, "invalid DATABASE_URL: cannot parse `postgres://user:xxxxx@db.example.com:99999/eventpulse`: invalid port")
	require.NotContains(t, err.Error(), "secret")

	t.Setenv("DATABASE_URL", "host=db.invalid port=5432 dbname=eventpulse")
	_, err = config.FromEnv()
	require.NoError(t, err, "a key=value string is parsed, and the host is not resolved")
}

func TestRedisURLParsedWithoutConnecting(t *testing.T) {
	require.EqualError(t, fromEnvError(t, "REDIS_URL", "http://x"),
		"invalid REDIS_URL: redis: invalid URL scheme: http; use redis://host:port/db, or rediss:// for TLS")
	require.EqualError(t, fromEnvError(t, "REDIS_URL", "redis://:secret@redis.example.com:99999/0"),
		"invalid REDIS_URL: port 99999 must be a number from 1 to 65535")

	err := fromEnvError(t, "REDIS_URL", "redis://:secret@redis.example.com:port/0")
	require.EqualError(t, err, `invalid REDIS_URL: invalid port ":port" after host`)
	require.NotContains(t, err.Error(), "secret")

	t.Setenv("REDIS_URL", "rediss://redis.invalid:6380/2")
	_, err = config.FromEnv()
	require.NoError(t, err)
}

func TestNotifyConfigMustBeAFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")

	require.EqualError(t, fromEnvError(t, "EVENTPULSE_NOTIFY_CONFIG", missing),
		`invalid EVENTPULSE_NOTIFY_CONFIG "`+missing+`": no such file; set it to the YAML file of notification channels, or leave it empty for none`)
	require.EqualError(t, fromEnvError(t, "EVENTPULSE_NOTIFY_CONFIG", dir),
		`invalid EVENTPULSE_NOTIFY_CONFIG "`+dir+`": is a directory, not the YAML file of notification channels`)

	path := filepath.Join(dir, "notify.yaml")
	require.NoError(t, os.WriteFile(path, []byte("channels: []\n"), 0o600))
	t.Setenv("EVENTPULSE_NOTIFY_CONFIG", path)
	_, err := config.FromEnv()
	require.NoError(t, err)
}
