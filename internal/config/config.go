// Package config reads EventPulse's configuration from environment
// variables. Every field documents its variable and its default.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults.
const (
	DatabaseURLDefault      = "postgres://postgres@127.0.0.1:5432/eventpulse?sslmode=disable"
	RedisURLDefault         = "redis://127.0.0.1:6379/0"
	HTTPAddrDefault         = "127.0.0.1:8080"
	LogLevelDefault         = "info"
	StreamPrefixDefault     = "eventpulse"
	IngestLingerDefault     = 2 * time.Millisecond
	IngestMaxBatchDefault   = 500
	MaxBodyBytesDefault     = 8 << 20
	ShutdownTimeoutDefault  = 15 * time.Second
	DatabaseMaxConnsDefault = 20
)

// Config is the whole configuration of one process.
type Config struct {
	// DatabaseURL (DATABASE_URL) locates PostgreSQL.
	// Default: DatabaseURLDefault.
	DatabaseURL string
	// DatabaseMaxConns (EVENTPULSE_DATABASE_MAX_CONNS) bounds the pool.
	// Default: DatabaseMaxConnsDefault.
	DatabaseMaxConns int
	// RedisURL (REDIS_URL) locates Redis. Default: RedisURLDefault.
	RedisURL string
	// HTTPAddr (EVENTPULSE_HTTP_ADDR) is where the API listens.
	// Default: HTTPAddrDefault.
	HTTPAddr string
	// LogLevel (EVENTPULSE_LOG_LEVEL) is debug, info, warn or error.
	// Default: info.
	LogLevel string
	// StreamPrefix (EVENTPULSE_STREAM_PREFIX) starts the name of every Redis
	// stream. Default: StreamPrefixDefault.
	StreamPrefix string
	// ConsumerName (EVENTPULSE_CONSUMER_NAME) names this worker in Redis
	// consumer groups. Default: host name and process id.
	ConsumerName string
	// IngestLinger (EVENTPULSE_INGEST_LINGER, a Go duration) is how long a
	// single event waits for others to share its command.
	// Default: IngestLingerDefault.
	IngestLinger time.Duration
	// IngestMaxBatch (EVENTPULSE_INGEST_MAX_BATCH) is the most events grouped
	// into one command. Default: IngestMaxBatchDefault.
	IngestMaxBatch int
	// MaxBodyBytes (EVENTPULSE_MAX_BODY_BYTES) is the largest request body
	// accepted; larger bodies get 413. Default: 8 MiB.
	MaxBodyBytes int64
	// NotifyConfigPath (EVENTPULSE_NOTIFY_CONFIG) is the YAML file of
	// notification channels. Default: none, so anomalies reach WebSocket
	// clients only.
	NotifyConfigPath string
	// ShutdownTimeout (EVENTPULSE_SHUTDOWN_TIMEOUT, a Go duration) bounds
	// the wait for in-flight requests and handlers on SIGINT or SIGTERM.
	// Default: ShutdownTimeoutDefault.
	ShutdownTimeout time.Duration
}

// FromEnv reads the configuration from the environment and validates it.
func FromEnv() (Config, error) {
	var errs []error

	c := Config{
		DatabaseURL:      os.Getenv("DATABASE_URL"),
		DatabaseMaxConns: envInt("EVENTPULSE_DATABASE_MAX_CONNS", &errs),
		RedisURL:         os.Getenv("REDIS_URL"),
		HTTPAddr:         os.Getenv("EVENTPULSE_HTTP_ADDR"),
		LogLevel:         os.Getenv("EVENTPULSE_LOG_LEVEL"),
		StreamPrefix:     os.Getenv("EVENTPULSE_STREAM_PREFIX"),
		ConsumerName:     os.Getenv("EVENTPULSE_CONSUMER_NAME"),
		IngestLinger:     envDuration("EVENTPULSE_INGEST_LINGER", &errs),
		IngestMaxBatch:   envInt("EVENTPULSE_INGEST_MAX_BATCH", &errs),
		MaxBodyBytes:     int64(envInt("EVENTPULSE_MAX_BODY_BYTES", &errs)),
		ShutdownTimeout:  envDuration("EVENTPULSE_SHUTDOWN_TIMEOUT", &errs),
		NotifyConfigPath: os.Getenv("EVENTPULSE_NOTIFY_CONFIG"),
	}

	c = c.WithDefaults()
	errs = append(errs, c.Validate())

	return c, errors.Join(errs...)
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.DatabaseURL = cmp.Or(c.DatabaseURL, DatabaseURLDefault)
	c.DatabaseMaxConns = cmp.Or(c.DatabaseMaxConns, DatabaseMaxConnsDefault)
	c.RedisURL = cmp.Or(c.RedisURL, RedisURLDefault)
	c.HTTPAddr = cmp.Or(c.HTTPAddr, HTTPAddrDefault)
	c.LogLevel = cmp.Or(c.LogLevel, LogLevelDefault)
	c.StreamPrefix = cmp.Or(c.StreamPrefix, StreamPrefixDefault)
	c.ConsumerName = cmp.Or(c.ConsumerName, defaultConsumerName())
	c.IngestLinger = cmp.Or(c.IngestLinger, IngestLingerDefault)
	c.IngestMaxBatch = cmp.Or(c.IngestMaxBatch, IngestMaxBatchDefault)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, MaxBodyBytesDefault)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, ShutdownTimeoutDefault)

	return c
}

// Validate returns every problem of c joined in one error.
func (c Config) Validate() error {
	var errs []error

	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_HTTP_ADDR %q: %w", c.HTTPAddr, err))
	}

	if _, err := c.SlogLevel(); err != nil {
		errs = append(errs, err)
	}

	if c.IngestMaxBatch < 1 || c.IngestMaxBatch > 1000 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_INGEST_MAX_BATCH %d: must be between 1 and 1000", c.IngestMaxBatch))
	}

	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_MAX_BODY_BYTES %d: must be at least 1024", c.MaxBodyBytes))
	}

	if c.DatabaseMaxConns < 4 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_DATABASE_MAX_CONNS %d: must be at least 4", c.DatabaseMaxConns))
	}

	return errors.Join(errs...)
}

// SlogLevel returns the slog level named by LogLevel.
func (c Config) SlogLevel() (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("invalid EVENTPULSE_LOG_LEVEL %q: use debug, info, warn or error", c.LogLevel)
	}

	return level, nil
}

func envInt(name string, errs *[]error) int {
	value := strings.TrimSpace(os.Getenv(name))
	if value == "" {
		return 0
	}

	n, err := strconv.Atoi(value)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("invalid %s %q: must be an integer", name, value))
	}

	return n
}

func envDuration(name string, errs *[]error) time.Duration {
	value := strings.TrimSpace(os.Getenv(name))
	if value == "" {
		return 0
	}

	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("invalid %s %q: must be a positive Go duration such as 500ms or 2s", name, value))
	}

	return d
}

func defaultConsumerName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "eventpulse"
	}

	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
