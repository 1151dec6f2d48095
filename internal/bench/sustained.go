package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/projections/detector"
	"github.com/eventpulse/eventpulse/projections/metricrollups"
)

// followedGroups are the consumer groups besides the events projector whose
// progress the sustained run reports, with the name the table gives each.
var followedGroups = []struct{ group, label string }{
	{metricrollups.Name, "`metric_rollups`"},
	{detector.Name, "the detector"},
}

// logPosition is the last log record a consumer group applied, in log
// order: by transaction id, then offset.
type logPosition struct {
	transactionID string
	offset        int64
}

// sample is the state of the pipeline at one moment of the sustained run.
type sample struct {
	at time.Time
	// projected is the number of rows in the events table, read from
	// PostgreSQL's statistics (see insertedEvents).
	projected int64
	// logLag is the largest projection lag that /readyz reports, in log
	// records.
	logLag int64
	// commands is the number of ingest commands in Redis that the worker
	// has not acknowledged yet, or -1 when Redis does not report its lag.
	commands int64
	rssKiB   int
	// redisBytes is Redis's used_memory: mostly the command streams, whose
	// acknowledged entries stay until the worker trims them.
	redisBytes int64
}

// measureSustained offers SustainedRate events per second in batches and
// measures how many reach the events table per second, sampling the lag
// once a second.
func (r *runner) measureSustained(ctx context.Context) Row {
	measure := fmt.Sprintf("sustained ingest to `events`, all projectors, %s offered for %s",
		rate(float64(r.config.SustainedRate), "events"), r.config.SustainedDuration)

	var res Result
	var start, end int64
	var samples []sample
	var reached []int64
	var runErr error

	ceiling, err := r.insertBracket(ctx, 2, func() {
		r.logf("sustained run at %d events/s for %s", r.config.SustainedRate, r.config.SustainedDuration)
		res, start, end, samples, reached, runErr = r.runSustained(ctx)
	})

	switch {
	case runErr != nil:
		return Failed(measure, targetSustained, runErr)
	case err != nil:
		return Failed(measure, targetSustained, err)
	}

	var redisPeak int64
	for _, s := range samples {
		redisPeak = max(redisPeak, s.redisBytes)
	}
	r.note("sustained run: Redis used up to %.0f MiB of memory (`used_memory`, sampled once a second)", float64(redisPeak)/(1<<20))

	projectedRate := float64(end-start) / res.Elapsed.Seconds()
	backlogMid, backlogEnd, maxLag := backlog(samples)

	var bounded string
	switch {
	case backlogMid < 0 || backlogEnd < 0:
		bounded = "lag unknown (Redis did not report its consumer group's lag)"
	case backlogEnd > max(backlogMid+backlogMid/4, int64(r.config.SustainedRate)):
		bounded = "lag NOT bounded"
	default:
		bounded = "lag bounded"
	}

	var projectorRates strings.Builder
	for i, followed := range followedGroups {
		projectorRates.WriteString(", ")
		projectorRates.WriteString(rate(float64(reached[i])/res.Elapsed.Seconds(), "events"))
		projectorRates.WriteString(" reached ")
		projectorRates.WriteString(followed.label)
	}

	return Row{
		Measure: measure,
		Result: fmt.Sprintf("%s reached `events`%s (%s accepted, %d errors%s); %s: backlog %s events at mid-run, %s at the end; /readyz lag up to %d records",
			rate(projectedRate, "events"), projectorRates.String(), rate(res.EventsPerSecond(), "events"), res.Errors, firstError(res),
			bounded, thousands(backlogMid), thousands(backlogEnd), maxLag),
		Target:  targetSustained,
		Ceiling: "multi-row INSERT, 500 rows, 2 connections: " + ceiling.String("rows"),
		Ratio:   ratio(projectedRate, ceiling.mean()),
	}
}

// runSustained runs the open-loop load and returns its result, the rows of
// the events table before and after, the samples taken meanwhile, and how
// many events each of followedGroups applied during the load.
func (r *runner) runSustained(ctx context.Context) (Result, int64, int64, []sample, []int64, error) {
	start, err := r.countEvents(ctx)
	if err != nil {
		return Result{}, 0, 0, nil, nil, err
	}

	startPositions, err := r.groupPositions(ctx)
	if err != nil {
		return Result{}, 0, 0, nil, nil, err
	}

	inserted, err := r.insertedEvents(ctx)
	if err != nil {
		return Result{}, 0, 0, nil, nil, err
	}

	samplerCtx, stopSampler := context.WithCancel(ctx)
	var samples []sample
	var wg sync.WaitGroup
	wg.Go(func() { samples = r.sampleEverySecond(samplerCtx, start-inserted) })

	finish := r.profiler.Start(ctx, "sustained", max(int(r.config.SustainedDuration.Seconds())-1, 1))
	stopNote := r.cpuNote("sustained run", "eventpulse", r.server.PID(), "the bench process (load generator and sampler)")
	requestsPerSecond := float64(r.config.SustainedRate) / batchSize
	res := RunOpen(ctx, r.server.URL, requestsPerSecond, batchConns*4, r.config.SustainedDuration,
		func(i int) Request { return r.batchRequest(0, i) })
	stopNote(int64(res.Events), "accepted event")
	r.accepted += int64(res.Events)

	// The positions are read first: counting the events table takes long
	// enough for the projectors to apply a few more records.
	endPositions, err := r.groupPositions(ctx)
	var end int64
	if err == nil {
		end, err = r.countEvents(ctx)
	}
	stopSampler()
	wg.Wait()

	if profileErr := finish(); profileErr != nil {
		r.note("profiles of the sustained run: %v", profileErr)
	}

	if err != nil {
		return Result{}, 0, 0, nil, nil, err
	}

	// The ceiling after the run must not compete with the backlog.
	if _, err := r.waitDrained(ctx, 5*time.Minute); err != nil {
		return Result{}, 0, 0, nil, nil, err
	}

	reached := make([]int64, len(followedGroups))
	for i := range followedGroups {
		reached[i], err = r.eventsBetween(ctx, startPositions[i], endPositions[i])
		if err != nil {
			return Result{}, 0, 0, nil, nil, err
		}
	}

	return res, start, end, samples, reached, nil
}

// groupPositions returns the position of each of followedGroups in the
// log. A group that has applied no record yet is at the start.
func (r *runner) groupPositions(ctx context.Context) ([]logPosition, error) {
	positions := make([]logPosition, len(followedGroups))
	for i, followed := range followedGroups {
		positions[i] = logPosition{transactionID: "0"}
		err := r.pool.QueryRow(ctx, `
			SELECT last_processed_transaction_id::text, coalesce(offset_acked, 0)
			FROM event_log_offsets WHERE consumer_group = $1`, followed.group).
			Scan(&positions[i].transactionID, &positions[i].offset)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("error reading the log position of %s: %w", followed.group, err)
		}
	}

	return positions, nil
}

// eventsBetween counts the events of the EventsIngested records after from
// up to and including to, in log order.
func (r *runner) eventsBetween(ctx context.Context, from, to logPosition) (int64, error) {
	var n int64
	err := r.pool.QueryRow(ctx, `
		SELECT coalesce(sum(json_array_length(payload -> 'events')), 0)::bigint
		FROM event_log
		WHERE (transaction_id, "offset") > ($1::xid8, $2)
			AND (transaction_id, "offset") <= ($3::xid8, $4)
			AND metadata ->> 'name' = $5`,
		from.transactionID, from.offset, to.transactionID, to.offset, events.EventsIngestedName).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("error counting the events between two log positions: %w", err)
	}

	return n, nil
}

// backlog returns the events not yet through every projector at the
// middle and at the end of the run, and the largest /readyz lag seen. Each
// request of the run becomes one command and one log record of batchSize
// events, so both counts convert to events exactly. A backlog is -1 when
// Redis did not report its lag.
func backlog(samples []sample) (mid, end int64, maxLag int64) {
	if len(samples) == 0 {
		return 0, 0, 0
	}

	for _, s := range samples {
		maxLag = max(maxLag, s.logLag)
	}

	backlogAt := func(s sample) int64 {
		if s.commands < 0 {
			return -1
		}

		return (s.commands + s.logLag) * batchSize
	}

	return backlogAt(samples[len(samples)/2]), backlogAt(samples[len(samples)-1]), maxLag
}

// sampleEverySecond samples the pipeline once a second until ctx ends.
// The rows of the events table are read from the statistics counter plus
// offset, because a count(*) every second over millions of rows took, by a
// sampled estimate, a sixth of PostgreSQL's CPU time in the run it measured.
func (r *runner) sampleEverySecond(ctx context.Context, offset int64) []sample {
	var samples []sample
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()

	for {
		s := sample{at: time.Now()}
		// Each sample uses its own deadline so the last one completes after
		// ctx ends.
		sampleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		inserted, _ := r.insertedEvents(sampleCtx)
		s.projected = inserted + offset
		s.logLag, _ = projectionLag(sampleCtx, r.server.URL)
		s.commands = r.commandsWaiting(sampleCtx)
		s.redisBytes, _ = r.redisUsedMemory(sampleCtx)
		cancel()
		s.rssKiB, _, _ = MemoryKiB(r.server.PID())
		samples = append(samples, s)
		r.logf("  projected %d, %d commands waiting in Redis, /readyz lag %d records, RSS %d MiB, Redis %d MiB",
			s.projected, s.commands, s.logLag, s.rssKiB/1024, s.redisBytes>>20)

		select {
		case <-ctx.Done():
			return samples
		case <-ticker.C:
		}
	}
}

// insertedEvents returns the rows inserted into the events table minus the
// rows deleted, from PostgreSQL's cumulative statistics. Backends report
// their counts from time to time rather than at every commit, so the figure
// can trail the table. The sustained rate itself comes from exact counts.
func (r *runner) insertedEvents(ctx context.Context) (int64, error) {
	var n int64
	err := r.pool.QueryRow(ctx, `
		SELECT coalesce(sum(n_tup_ins - n_tup_del), 0)::bigint FROM pg_stat_user_tables WHERE relname = 'events'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("error reading the insert count of events: %w", err)
	}

	return n, nil
}

// commandsWaiting returns how many ingest commands the worker's consumer
// group has not acknowledged (bus.CommandsWaiting), or -1 when the query
// fails.
func (r *runner) commandsWaiting(ctx context.Context) int64 {
	stream := bus.CommandStream(config.StreamPrefixDefault, commands.IngestEventsHandlerName)

	waiting, err := bus.CommandsWaiting(ctx, r.redisClient(), stream, commands.IngestEventsHandlerName)
	if err != nil {
		return -1
	}

	return waiting
}

// redisUsedMemory returns the used_memory figure of Redis's INFO memory.
func (r *runner) redisUsedMemory(ctx context.Context) (int64, error) {
	info, err := r.redisClient().InfoMap(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("error reading Redis memory: %w", err)
	}

	used, err := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("error reading Redis used_memory: %w", err)
	}

	return used, nil
}
