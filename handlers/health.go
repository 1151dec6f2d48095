package handlers

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/deadletter"
	"github.com/eventpulse/eventpulse/internal/eventlog"

	"github.com/eventpulse/eventpulse/internal/oas"
)

// Healthz implements oas.Handler.
func (a *API) Healthz(context.Context) (*oas.Liveness, error) {
	return &oas.Liveness{Status: oas.LivenessStatusOk}, nil
}

// EventsHealth implements oas.Handler in the shape older clients read.
func (a *API) EventsHealth(ctx context.Context) (oas.EventsHealthRes, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()

	if err := a.redis.Ping(ctx).Err(); err != nil {
		return &oas.EventsHealthServiceUnavailable{
			Status: oas.IngestHealthStatusDegraded,
			Redis:  "unreachable",
			Worker: oas.IngestHealthWorkerUnknown,
		}, nil
	}

	health := oas.IngestHealth{
		Status: oas.IngestHealthStatusOk,
		Redis:  "PONG",
		Worker: a.workerStatus(ctx),
	}

	// A worker whose heartbeat is fresh still stores nothing while
	// PostgreSQL does not respond. Ingestion itself goes on into Redis, so
	// the status stays ok.
	if health.Worker == oas.IngestHealthWorkerOk && a.pool.Ping(ctx) != nil {
		health.Worker = oas.IngestHealthWorkerDegraded
	}

	// Either of these makes the ingest routes return 503.
	var degraded bool
	if a.backlog != nil {
		if waiting, ok := a.backlog.Waiting(); ok {
			health.CommandsWaiting = oas.NewOptInt64(waiting)
		}
		degraded = a.backlog.Check() != nil
	}

	if redisFull(ctx, a.redis) {
		health.Redis = "full"
		degraded = true
	}

	if degraded {
		health.Status = oas.IngestHealthStatusDegraded
		unavailable := oas.EventsHealthServiceUnavailable(health)

		return &unavailable, nil
	}

	ok := oas.EventsHealthOK(health)

	return &ok, nil
}

// redisFull reports whether Redis uses more memory than its maxmemory
// under the noeviction policy, where it rejects every XADD and ingestion
// returns 503. It reports false when INFO memory fails or lacks the figures.
func redisFull(ctx context.Context, client redis.UniversalClient) bool {
	info, err := client.InfoMap(ctx, "memory").Result()
	if err != nil {
		return false
	}

	memory := info["Memory"]
	used, usedErr := strconv.ParseInt(memory["used_memory"], 10, 64)
	limit, limitErr := strconv.ParseInt(memory["maxmemory"], 10, 64)

	return usedErr == nil && limitErr == nil && limit > 0 && used > limit &&
		memory["maxmemory_policy"] == "noeviction"
}

// workerStatus is "ok" when a worker sent a heartbeat within
// workerIdleLimit, "degraded" when workers are known but none did, and
// "unknown" when no worker is known or Redis cannot tell.
func (a *API) workerStatus(ctx context.Context) oas.IngestHealthWorker {
	live, known, err := bus.LiveWorkers(ctx, a.redis, a.streamPrefix, workerIdleLimit)
	switch {
	case err != nil || known == 0:
		return oas.IngestHealthWorkerUnknown
	case live > 0:
		return oas.IngestHealthWorkerOk
	default:
		return oas.IngestHealthWorkerDegraded
	}
}

// dependencyUnavailable is the /readyz value of a dependency whose check
// failed.
const dependencyUnavailable = "unavailable"

// readyTimeout bounds each dependency check of /readyz. The checks run
// concurrently with a deadline each, so a stalled Redis is not reported as
// a PostgreSQL failure.
const readyTimeout = 2 * time.Second

// Readyz implements oas.Handler.
func (a *API) Readyz(ctx context.Context) (oas.ReadyzRes, error) {
	ready := oas.Readiness{
		Status:      oas.ReadinessStatusOk,
		Postgres:    "ok",
		Redis:       "ok",
		Projections: []oas.ProjectionLag{},
		Commands:    []oas.CommandDeadLetters{},
	}

	var redisErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		redisCtx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()

		redisErr = a.redis.Ping(redisCtx).Err()
	})

	postgresCtx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()

	lags, err := a.projectionLags(postgresCtx)
	if err == nil {
		err = a.addDeadLetters(postgresCtx, lags)
	}

	var commands []oas.CommandDeadLetters
	if err == nil {
		commands, err = a.commandDeadLetters(postgresCtx)
	}
	wg.Wait()

	// The body names the failed dependency but not its error, which carries
	// addresses and user names and goes to the log instead: /readyz needs
	// no key.
	if redisErr != nil {
		ready.Status = oas.ReadinessStatusDegraded
		ready.Redis = dependencyUnavailable
		a.readyRedis.Failed(ctx, a.logger, "readyz: Redis check failed", slog.Any("error", redisErr))
	} else {
		a.readyRedis.Recovered(ctx, a.logger, "readyz: Redis check passes again")
	}

	if err != nil {
		ready.Status = oas.ReadinessStatusDegraded
		ready.Postgres = dependencyUnavailable
		a.readyPostgres.Failed(ctx, a.logger, "readyz: PostgreSQL check failed", slog.Any("error", err))
	} else {
		a.readyPostgres.Recovered(ctx, a.logger, "readyz: PostgreSQL check passes again")
		ready.Projections = append(ready.Projections, lags...)
		ready.Commands = append(ready.Commands, commands...)
	}

	if ready.Status != oas.ReadinessStatusOk {
		response := oas.ReadyzServiceUnavailable(ready)
		return &response, nil
	}

	response := oas.ReadyzOK(ready)

	return &response, nil
}

// projectionLags returns, per consumer group of the log, the records
// written after the last one it applied.
func (a *API) projectionLags(ctx context.Context) ([]oas.ProjectionLag, error) {
	groups, err := eventlog.Lags(ctx, a.pool)
	if err != nil {
		return nil, err
	}

	lags := make([]oas.ProjectionLag, 0, len(groups))
	for _, group := range groups {
		lags = append(lags, oas.ProjectionLag{
			Name:       group.ConsumerGroup,
			LagRecords: group.Records,
			LagEvents:  group.Records, //nolint:staticcheck // The deprecated field is still sent to existing clients.
		})
	}

	return lags, nil
}

// addDeadLetters sets, on each projection, how many log records it skipped
// and that wait in the dead-letter store.
func (a *API) addDeadLetters(ctx context.Context, lags []oas.ProjectionLag) error {
	counts, err := deadletter.CountWaiting(ctx, a.pool)
	if err != nil {
		return err
	}

	for i := range lags {
		lags[i].DeadLetters = oas.NewOptInt64(counts[lags[i].Name])
	}

	return nil
}

// commandDeadLetters returns the letters not requeued yet of every command
// handler and stream of a.commandStreams, 0 included, and of any other
// pair with a letter in the store, as the gauge of GET /metrics lists them.
func (a *API) commandDeadLetters(ctx context.Context) ([]oas.CommandDeadLetters, error) {
	counts, err := deadletter.CountStreamsWaiting(ctx, a.pool, a.commandStreams)
	if err != nil {
		return nil, err
	}

	commands := make([]oas.CommandDeadLetters, 0, len(counts))
	for _, count := range counts {
		commands = append(commands, oas.CommandDeadLetters{
			Handler:     count.Handler,
			Stream:      count.Stream,
			DeadLetters: count.Waiting,
		})
	}

	return commands, nil
}
