// Package config reads EventPulse's configuration from environment
// variables. Every field documents its variable and its default.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/eventpulse/eventpulse/internal/ingest"
)

// Defaults.
const (
	DatabaseURLDefault           = "postgres://postgres@127.0.0.1:5432/eventpulse?sslmode=disable"
	RedisURLDefault              = "redis://127.0.0.1:6379/0"
	HTTPAddrDefault              = "127.0.0.1:8080"
	LogLevelDefault              = "info"
	StreamPrefixDefault          = "eventpulse"
	IngestLingerDefault          = 2 * time.Millisecond
	IngestQuietDefault           = 100 * time.Microsecond
	IngestMaxBatchDefault        = 500
	IngestMaxBacklogDefault      = 10_000
	MaxBodyBytesDefault          = 8 << 20
	ShutdownTimeoutDefault       = 15 * time.Second
	DatabaseMaxConnsDefault      = 20
	HTTPReadHeaderTimeoutDefault = 5 * time.Second
	HTTPReadTimeoutDefault       = 30 * time.Second
	HTTPWriteTimeoutDefault      = 30 * time.Second
	HTTPIdleTimeoutDefault       = 2 * time.Minute
	IngestRateDefault            = 20000
	IngestBurstDefault           = 40000
	RuleReplyTimeoutDefault      = 10 * time.Second
	ClaimIdleDefault             = 10 * time.Second
	MaxDeliveriesDefault         = 5
	TrimIntervalDefault          = 5 * time.Second
	IngestLanesDefault           = 1
)

// MaxBodyBytesMin is the lowest EVENTPULSE_MAX_BODY_BYTES accepted.
const MaxBodyBytesMin = 1024

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
	// WorkerHTTPAddr (EVENTPULSE_WORKER_ADDR) is where eventpulse worker
	// serves /healthz and /metrics. Default: empty, which serves nothing.
	WorkerHTTPAddr string
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
	// IngestQuiet (EVENTPULSE_INGEST_QUIET, a Go duration) sends a group of
	// at least ingest.QuietMinDefault single events before its linger is
	// over once no other event arrived for this long. Values above IngestLinger act as IngestLinger.
	// Default: IngestQuietDefault.
	IngestQuiet time.Duration
	// IngestLanes (EVENTPULSE_INGEST_LANES) is how many ingest commands one
	// worker handles at once, each in its own PostgreSQL transaction, between
	// 1 and 64. With more than one, commands may reach the log in another
	// order than the stream's, as with several workers, so the detector may
	// skip events of a fast import as late. Default: IngestLanesDefault.
	IngestLanes int
	// IngestMaxBatch (EVENTPULSE_INGEST_MAX_BATCH) is the most events grouped
	// into one command. Default: IngestMaxBatchDefault.
	IngestMaxBatch int
	// IngestMaxBacklog (EVENTPULSE_INGEST_MAX_BACKLOG) is the max number of
	// ingest commands that may wait in Redis for the worker. Above it the
	// ingest routes return 503. Default: IngestMaxBacklogDefault.
	IngestMaxBacklog int
	// MaxBodyBytes (EVENTPULSE_MAX_BODY_BYTES) is the largest request body
	// accepted; larger bodies get 413. It applies to a gzip-compressed
	// ingest body both as sent and once decompressed. Default: 8 MiB.
	MaxBodyBytes int64
	// IngestRate (EVENTPULSE_INGEST_RATE, events per second) is the average
	// rate each API key may ingest, a finite number, or 0 for no limit.
	// Requests without a key, served only on loopback before any key has
	// been created, are not limited. Default: IngestRateDefault.
	IngestRate float64
	// IngestBurst (EVENTPULSE_INGEST_BURST, events) is the max number of
	// events a key may send at once above its rate. It must be at least
	// ingest.MaxBatchEvents, so that every valid batch request can pass.
	// Default: IngestBurstDefault.
	IngestBurst int
	// CORSOrigins (EVENTPULSE_CORS_ORIGINS, comma-separated) are the browser
	// origins allowed to call the API, each scheme://host[:port] with an
	// http or https scheme. FromEnv stores them as ParseOrigin returns them.
	// Default: none.
	CORSOrigins []string
	// HTTPReadHeaderTimeout (EVENTPULSE_HTTP_READ_HEADER_TIMEOUT),
	// HTTPReadTimeout (EVENTPULSE_HTTP_READ_TIMEOUT), HTTPWriteTimeout
	// (EVENTPULSE_HTTP_WRITE_TIMEOUT) and HTTPIdleTimeout
	// (EVENTPULSE_HTTP_IDLE_TIMEOUT), Go durations, bound how long a client
	// may take to send headers, to send a whole request, to receive a
	// response, and to keep an idle connection. They protect the server from
	// slow clients. Defaults: 5s, 30s, 30s, 2m.
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	HTTPWriteTimeout      time.Duration
	HTTPIdleTimeout       time.Duration
	// ShutdownTimeout (EVENTPULSE_SHUTDOWN_TIMEOUT, a Go duration) bounds
	// the wait for in-flight requests and handlers on SIGINT or SIGTERM.
	// Default: ShutdownTimeoutDefault.
	ShutdownTimeout time.Duration
	// RuleReplyTimeout (EVENTPULSE_RULE_REPLY_TIMEOUT, a Go duration) is how
	// long a rule write waits for its command handler; past it the request
	// gets 504 and the command is dropped unless already being handled.
	// Default: RuleReplyTimeoutDefault.
	RuleReplyTimeout time.Duration
	// NotifyConfigPath (EVENTPULSE_NOTIFY_CONFIG) is the YAML file of
	// notification channels. Default: none, so anomalies reach WebSocket
	// clients only.
	NotifyConfigPath string
	// PprofAddr (EVENTPULSE_PPROF_ADDR) is the loopback host:port where
	// net/http/pprof is served. Default: empty, which serves nothing.
	PprofAddr string
	// ClaimIdle (EVENTPULSE_CLAIM_IDLE, a Go duration) is how long a command
	// stays pending with a stopped worker before a live one claims it.
	// Default: ClaimIdleDefault.
	ClaimIdle time.Duration
	// MaxDeliveries (EVENTPULSE_MAX_DELIVERIES) is how often a command may be
	// delivered without being acknowledged before it goes to the dead-letter
	// store. Default: MaxDeliveriesDefault.
	MaxDeliveries int
	// TrimInterval (EVENTPULSE_TRIM_INTERVAL, a Go duration) is how often the
	// worker deletes the commands every consumer group has finished. They
	// stay in Redis's memory until then: at 20,000 events/s, a one-minute
	// interval let Redis grow to about 350 MiB, which every AOF rewrite
	// copied, and five seconds kept it near 50 MiB.
	// Default: TrimIntervalDefault.
	TrimInterval time.Duration
}

// FromEnv reads the configuration from the environment and validates it.
func FromEnv() (Config, error) {
	var errs []error

	c := Config{
		DatabaseURL:           os.Getenv("DATABASE_URL"),
		DatabaseMaxConns:      envInt("EVENTPULSE_DATABASE_MAX_CONNS", &errs),
		RedisURL:              os.Getenv("REDIS_URL"),
		HTTPAddr:              os.Getenv("EVENTPULSE_HTTP_ADDR"),
		WorkerHTTPAddr:        os.Getenv("EVENTPULSE_WORKER_ADDR"),
		LogLevel:              os.Getenv("EVENTPULSE_LOG_LEVEL"),
		StreamPrefix:          os.Getenv("EVENTPULSE_STREAM_PREFIX"),
		ConsumerName:          os.Getenv("EVENTPULSE_CONSUMER_NAME"),
		IngestLinger:          envDuration("EVENTPULSE_INGEST_LINGER", &errs),
		IngestQuiet:           envDuration("EVENTPULSE_INGEST_QUIET", &errs),
		IngestMaxBatch:        envInt("EVENTPULSE_INGEST_MAX_BATCH", &errs),
		IngestMaxBacklog:      envInt("EVENTPULSE_INGEST_MAX_BACKLOG", &errs),
		IngestLanes:           envInt("EVENTPULSE_INGEST_LANES", &errs),
		MaxBodyBytes:          int64(envInt("EVENTPULSE_MAX_BODY_BYTES", &errs)),
		ShutdownTimeout:       envDuration("EVENTPULSE_SHUTDOWN_TIMEOUT", &errs),
		IngestRate:            envFloat("EVENTPULSE_INGEST_RATE", &errs),
		RuleReplyTimeout:      envDuration("EVENTPULSE_RULE_REPLY_TIMEOUT", &errs),
		NotifyConfigPath:      os.Getenv("EVENTPULSE_NOTIFY_CONFIG"),
		PprofAddr:             os.Getenv("EVENTPULSE_PPROF_ADDR"),
		ClaimIdle:             envDuration("EVENTPULSE_CLAIM_IDLE", &errs),
		MaxDeliveries:         envInt("EVENTPULSE_MAX_DELIVERIES", &errs),
		TrimInterval:          envDuration("EVENTPULSE_TRIM_INTERVAL", &errs),
		HTTPReadHeaderTimeout: envDuration("EVENTPULSE_HTTP_READ_HEADER_TIMEOUT", &errs),
		HTTPReadTimeout:       envDuration("EVENTPULSE_HTTP_READ_TIMEOUT", &errs),
		HTTPWriteTimeout:      envDuration("EVENTPULSE_HTTP_WRITE_TIMEOUT", &errs),
		HTTPIdleTimeout:       envDuration("EVENTPULSE_HTTP_IDLE_TIMEOUT", &errs),
		IngestBurst:           envInt("EVENTPULSE_INGEST_BURST", &errs),
		CORSOrigins:           envList("EVENTPULSE_CORS_ORIGINS"),
	}

	c = c.WithDefaults()
	errs = append(errs, c.Validate())
	c.CORSOrigins = normalizeOrigins(c.CORSOrigins)

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
	c.IngestQuiet = cmp.Or(c.IngestQuiet, IngestQuietDefault)
	c.IngestMaxBatch = cmp.Or(c.IngestMaxBatch, IngestMaxBatchDefault)
	c.IngestMaxBacklog = cmp.Or(c.IngestMaxBacklog, IngestMaxBacklogDefault)
	c.IngestLanes = cmp.Or(c.IngestLanes, IngestLanesDefault)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, MaxBodyBytesDefault)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, ShutdownTimeoutDefault)
	c.IngestBurst = cmp.Or(c.IngestBurst, IngestBurstDefault)
	c.RuleReplyTimeout = cmp.Or(c.RuleReplyTimeout, RuleReplyTimeoutDefault)
	c.ClaimIdle = cmp.Or(c.ClaimIdle, ClaimIdleDefault)
	c.MaxDeliveries = cmp.Or(c.MaxDeliveries, MaxDeliveriesDefault)
	c.TrimInterval = cmp.Or(c.TrimInterval, TrimIntervalDefault)
	c.HTTPReadHeaderTimeout = cmp.Or(c.HTTPReadHeaderTimeout, HTTPReadHeaderTimeoutDefault)
	c.HTTPReadTimeout = cmp.Or(c.HTTPReadTimeout, HTTPReadTimeoutDefault)
	c.HTTPWriteTimeout = cmp.Or(c.HTTPWriteTimeout, HTTPWriteTimeoutDefault)
	c.HTTPIdleTimeout = cmp.Or(c.HTTPIdleTimeout, HTTPIdleTimeoutDefault)
	if c.IngestRate == 0 && os.Getenv("EVENTPULSE_INGEST_RATE") == "" {
		c.IngestRate = IngestRateDefault
	}

	return c
}

// Validate returns every problem of c joined in one error. It connects to
// nothing, and it opens the file in NotifyConfigPath without reading it.
func (c Config) Validate() error {
	var errs []error

	errs = append(errs, checkDatabaseURL(c.DatabaseURL), checkRedisURL(c.RedisURL))
	errs = append(errs, checkListenAddr("EVENTPULSE_HTTP_ADDR", c.HTTPAddr))

	if c.WorkerHTTPAddr != "" {
		errs = append(errs, checkListenAddr("EVENTPULSE_WORKER_ADDR", c.WorkerHTTPAddr))
	}

	if c.PprofAddr != "" {
		errs = append(errs, checkPprofAddr(c.PprofAddr))
	}

	if _, err := c.SlogLevel(); err != nil {
		errs = append(errs, err)
	}

	if c.IngestMaxBatch < 1 || c.IngestMaxBatch > 1000 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_INGEST_MAX_BATCH %d: must be between 1 and 1000", c.IngestMaxBatch))
	}

	if c.IngestMaxBacklog < 1 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_INGEST_MAX_BACKLOG %d: must be at least 1", c.IngestMaxBacklog))
	}

	if c.IngestLanes < 1 || c.IngestLanes > 64 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_INGEST_LANES %d: must be between 1 and 64", c.IngestLanes))
	}

	if c.MaxBodyBytes < MaxBodyBytesMin {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_MAX_BODY_BYTES %d: must be at least %d", c.MaxBodyBytes, MaxBodyBytesMin))
	}

	if math.IsNaN(c.IngestRate) || math.IsInf(c.IngestRate, 0) || c.IngestRate < 0 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_INGEST_RATE %g: must be a positive number of events per second, or 0 for no limit", c.IngestRate))
	}

	if c.IngestBurst < ingest.MaxBatchEvents {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_INGEST_BURST %d: must be at least %d, the max number of events in a batch request, so that every batch can pass the rate limit",
			c.IngestBurst, ingest.MaxBatchEvents))
	}

	for _, origin := range c.CORSOrigins {
		if _, err := ParseOrigin(origin); err != nil {
			errs = append(errs, fmt.Errorf("invalid EVENTPULSE_CORS_ORIGINS entry %q: %w", origin, err))
		}
	}

	if c.MaxDeliveries < 1 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_MAX_DELIVERIES %d: must be at least 1", c.MaxDeliveries))
	}

	if c.DatabaseMaxConns < 4 {
		errs = append(errs, fmt.Errorf("invalid EVENTPULSE_DATABASE_MAX_CONNS %d: must be at least 4", c.DatabaseMaxConns))
	}

	if c.NotifyConfigPath != "" {
		errs = append(errs, checkNotifyConfig(c.NotifyConfigPath))
	}

	return errors.Join(errs...)
}

// SlogLevel returns the slog level named by LogLevel: debug, info, warn or
// error, in any case. Unlike slog.Level's UnmarshalText, it rejects offsets
// such as info+2.
func (c Config) SlogLevel() (slog.Level, error) {
	switch strings.ToLower(c.LogLevel) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}

	return 0, fmt.Errorf("invalid EVENTPULSE_LOG_LEVEL %q: use debug, info, warn or error", c.LogLevel)
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

func envFloat(name string, errs *[]error) float64 {
	value := strings.TrimSpace(os.Getenv(name))
	if value == "" {
		return 0
	}

	f, err := strconv.ParseFloat(value, 64)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("invalid %s %q: must be a number", name, value))
	}

	return f
}

func envList(name string) []string {
	var items []string
	for _, item := range strings.Split(os.Getenv(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}

	return items
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
