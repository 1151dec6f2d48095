// Package app wires EventPulse's processes: the API server and the worker
// that runs command handlers and projectors.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/telemetry"
)

// Deps are the connections shared by the parts of one process.
type Deps struct {
	Config config.Config
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	Redis  redis.UniversalClient
	// Metrics is the process's Prometheus registry, shared by the API and
	// the worker.
	Metrics *telemetry.Metrics
}

// Open connects to PostgreSQL and Redis.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Deps, error) {
	pool, err := database.Open(ctx, cfg.DatabaseURL, int32(cfg.DatabaseMaxConns))
	if err != nil {
		return nil, err
	}

	// go-redis has one logger for the process; it writes JSON lines
	// through logger instead of plain text.
	redis.SetLogger(logging.Redis(logger))

	client, err := OpenRedis(ctx, cfg.RedisURL)
	if err != nil {
		pool.Close()
		return nil, err
	}

	// The series of every command handler and projector exist from the
	// start, in the API process too, so /metrics lists them before the
	// first command.
	projectors := projectorNames(logger)
	metrics := telemetry.New()
	metrics.InitCommands(commandHandlerNames)
	metrics.InitProjections(projectors)
	metrics.RegisterProjectionLag(pool, logger, projectors)
	metrics.RegisterCommandDeadLetters(pool, logger, commandStreams(cfg.StreamPrefix))

	return &Deps{Config: cfg, Logger: logger, Pool: pool, Redis: client, Metrics: metrics}, nil
}

// OpenRedis connects to Redis. The pool is sized for the blocking reads of
// stream subscribers, which each hold a connection, and timeouts are short
// so that an outage turns into 503 responses quickly. go-redis does not
// retry a failed command, because a retry that failed to connect hid
// whether the first attempt had reached Redis. The ingestion routes then
// reported that nothing was accepted for commands that Redis had stored.
// Every caller retries on its own: clients after a 503, subscribers and
// the background loops on their next round.
func OpenRedis(ctx context.Context, url string) (redis.UniversalClient, error) {
	options, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("error parsing Redis URL: %w", err)
	}

	options.PoolSize = max(options.PoolSize, 64)
	options.DialTimeout = time.Second
	options.MaxRetries = -1
	client := redis.NewClient(options)

	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("error connecting to Redis at %s: %w", options.Addr, err)
	}

	return client, nil
}

// Close releases the connections.
func (d *Deps) Close() {
	_ = d.Redis.Close()
	d.Pool.Close()
}
