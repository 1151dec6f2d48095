package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/eventpulse/eventpulse/internal/testenv"
)

// Targets on a 2-core machine, as the result table prints them.
const (
	targetSingle    = "≥ 20,000 events/s, p99 ≤ 25 ms"
	targetBatch     = "≥ 100,000 events/s"
	targetSustained = "≥ 20,000 events/s, bounded lag"
	targetWebSocket = "p95 ≤ 100 ms at 1,000 events/s"
	targetReplay    = "≥ 50,000 events/s"
	targetMetrics   = "flat from 10 thousand to 10 million events"
	targetRSS       = "≤ 256 MiB"
)

// Config configures Run.
type Config struct {
	// Binary is the eventpulse binary to measure.
	Binary string
	// DataDir holds *.ndjson files of events; synthetic events are used
	// when it has none.
	DataDir string
	// WorkDir receives the server log and, with Profiles, the profiles.
	WorkDir string
	// Profiles saves CPU and allocation profiles of the single-event, batch
	// and sustained runs into WorkDir, and mutex and block profiles of
	// extra single-event and batch loads (see recordContention).
	Profiles bool
	// Duration is the length of the single-event and batch runs.
	Duration time.Duration
	// SustainedDuration is the length of the sustained run.
	SustainedDuration time.Duration
	// SustainedRate is the offered load of the sustained run, in events
	// per second.
	SustainedRate int
	// BareCommand is a program that serves the bare handlers when run with
	// -serve-bare ADDR; see StartBareServer.
	BareCommand string
	// KeepTimestamps sends the events with the timestamps of DataDir
	// instead of the time of the run.
	KeepTimestamps bool
	// Only, when not empty, names the measures to run: single, batch,
	// sustained, websocket, replay and metrics. The peak RSS is always
	// reported.
	Only []string
	// Statements tracks PostgreSQL's statements with pg_stat_statements
	// and reports their time per event for the single-event and batch runs.
	Statements bool
	// Logf receives progress lines.
	Logf func(format string, args ...any)
}

// Measures lists the names Config.Only accepts, in the order they run.
var Measures = []string{"single", "batch", "sustained", "websocket", "replay", "metrics"}

func (c Config) runs(measure string) bool {
	return len(c.Only) == 0 || slices.Contains(c.Only, measure)
}

// Report is the outcome of Run: the table rows and notes.
type Report struct {
	Rows []Row
	// Notes are facts about the run printed under the table.
	Notes []string
}

// runner carries the state shared by the steps of one run.
type runner struct {
	config   Config
	events   Events
	env      *testenv.Env
	pool     *pgxpool.Pool
	redis    *redis.Client
	server   *Server
	profiler *Profiler
	report   *Report

	// accepted counts the events of requests that received 202 so far.
	accepted int64
	bare     *BareServer
	xaddRate float64
	// ceilings are the rows of the limits measured around each run.
	ceilings []Row
	// single and batch are the results of our runs.
	single, batch Result
	// stored is, by run name, the share of the run's accepted events that
	// were in `events` when its load stopped.
	stored map[string]float64
}

const (
	singleConns  = 64
	batchConns   = 8
	batchSize    = 500
	seedEvents   = 10_000
	insertRows   = 50_000
	xaddCommands = 200_000
)

// Run starts PostgreSQL, Redis and eventpulse, measures the ceilings and
// every row of the table, and stops everything it started.
func Run(ctx context.Context, config Config) (*Report, error) {
	events, err := LoadEvents(config.DataDir, config.KeepTimestamps, time.Now())
	if err != nil {
		return nil, err
	}

	r := &runner{config: config, events: events, report: &Report{}}
	r.note("events: %s, %d bytes on average; batches of %d", events.Source, events.MeanSize(), batchSize)

	options := testenv.Options{Fsync: true, Logf: config.Logf}
	if config.Statements {
		options.PostgresSettings = statementSettings
	}
	r.env, err = testenv.Start(ctx, options)
	if err != nil {
		return nil, fmt.Errorf("error starting PostgreSQL and Redis: %w", err)
	}
	defer func() { _ = r.env.Close() }()
	defer func() {
		if r.redis != nil {
			_ = r.redis.Close()
		}
	}()

	if err := r.prepareDatabases(ctx); err != nil {
		return nil, err
	}

	if err := r.measureXADD(ctx); err != nil {
		return nil, err
	}

	r.bare, err = StartBareServer(ctx, config.BareCommand)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.bare.Close() }()

	if err := r.startServer(ctx); err != nil {
		return nil, err
	}

	rows, err := r.measureServer(ctx)
	stopErr := r.server.Stop()
	r.report.Rows = append(rows, r.ceilingRows()...)
	r.note("each ceiling except XADD is measured right before and right after the run it is compared with, " +
		"and the ratio uses their mean, because the load of a shared machine changes within minutes")

	return r.report, errors.Join(err, stopErr)
}

func (r *runner) logf(format string, args ...any) {
	if r.config.Logf != nil {
		r.config.Logf(format, args...)
	}
}

func (r *runner) note(format string, args ...any) {
	r.report.Notes = append(r.report.Notes, fmt.Sprintf(format, args...))
}

func (r *runner) prepareDatabases(ctx context.Context) error {
	for _, name := range []string{"eventpulse", "ceiling"} {
		if err := r.env.CreateDatabase(ctx, name, ""); err != nil {
			return err
		}

		cmd := exec.CommandContext(ctx, r.config.Binary, "migrate")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+r.env.DatabaseURL(name), "REDIS_URL="+r.redisURL())
		if output, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("error migrating database %q: %w: %s", name, err, output)
		}
	}

	pool, err := pgxpool.New(ctx, r.env.DatabaseURL("eventpulse"))
	if err != nil {
		return fmt.Errorf("error connecting to the eventpulse database: %w", err)
	}
	r.pool = pool

	if r.config.Statements {
		if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
			return fmt.Errorf("error creating pg_stat_statements: %w", err)
		}
	}

	return nil
}

// redisClient returns the bench's own connection to Redis, made on first
// use.
func (r *runner) redisClient() *redis.Client {
	if r.redis == nil {
		r.redis = redis.NewClient(&redis.Options{Addr: r.env.RedisAddr()})
	}

	return r.redis
}

func (r *runner) redisURL() string {
	return "redis://" + r.env.RedisAddr() + "/0"
}

func (r *runner) measureXADD(ctx context.Context) error {
	_, portText, _ := strings.Cut(r.env.RedisAddr(), ":")
	port, _ := strconv.Atoi(portText)

	r.logf("ceiling: redis-benchmark XADD")
	xadd, command, err := RedisXADD(ctx, port, xaddCommands)
	if err != nil {
		return err
	}
	r.xaddRate = xadd
	r.note("XADD ceiling: `%s`, before eventpulse starts", command)

	// The ceiling's stream would otherwise count in the Redis memory that
	// the sustained run samples.
	if err := r.redisClient().Del(ctx, "bench.ceiling").Err(); err != nil {
		return fmt.Errorf("error deleting the XADD ceiling's stream: %w", err)
	}

	return nil
}

func (r *runner) singleRequest(worker, i int) Request {
	return Request{
		Path:   "/api/v1/events",
		Body:   r.events.Bodies[(worker*7919+i)%len(r.events.Bodies)],
		Events: 1,
	}
}

func (r *runner) batchRequest(worker, i int) Request {
	offset := (worker*31 + i) * batchSize

	return Request{Path: "/api/v1/events/batch", Body: r.events.Batch(offset, batchSize), Events: batchSize}
}

func (r *runner) startServer(ctx context.Context) error {
	if err := os.MkdirAll(r.config.WorkDir, 0o755); err != nil {
		return fmt.Errorf("error creating %q: %w", r.config.WorkDir, err)
	}

	server, err := StartServer(ctx, ServerConfig{
		Binary:      r.config.Binary,
		DatabaseURL: r.env.DatabaseURL("eventpulse"),
		RedisURL:    r.redisURL(),
		LogPath:     filepath.Join(r.config.WorkDir, "eventpulse.log"),
		Pprof:       r.config.Profiles,
	})
	if err != nil {
		return err
	}

	r.server = server
	if r.config.Profiles {
		r.profiler = &Profiler{URL: server.PprofURL, Dir: r.config.WorkDir}
		// eventpulse starts with contention sampling on, and the
		// measured runs go without it.
		if err := r.profiler.SetContention(ctx, false); err != nil {
			r.note("contention sampling stays on during the runs: %v", err)
		}
	}

	return nil
}

// measureServer runs the steps against the server in an order where each
// one leaves the next a drained pipeline.
func (r *runner) measureServer(ctx context.Context) ([]Row, error) {
	var rows []Row

	r.logf("seeding %d events for the first metrics size", seedEvents)
	if err := r.seed(ctx, seedEvents); err != nil {
		return nil, err
	}
	var smallMetrics metricsLatency
	if r.config.runs("metrics") {
		smallMetrics = r.measureMetrics(ctx)
	}

	if r.config.runs("single") {
		rows = append(rows, r.measureSingle(ctx))
	}

	if r.config.runs("batch") {
		rows = append(rows, r.measureBatch(ctx))
	}

	r.logf("waiting for the pipeline to drain")
	drained, err := r.waitDrained(ctx, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	r.note("after the single-event and batch runs the events table caught up in %s", drained.Round(100*time.Millisecond))

	if r.config.runs("sustained") {
		rows = append(rows, r.measureSustained(ctx))

		if _, err := r.waitDrained(ctx, 5*time.Minute); err != nil {
			return nil, err
		}
	}

	if r.config.runs("websocket") {
		r.logf("WebSocket anomaly latency")
		rows = append(rows, r.measureWebSocket(ctx))
	}

	if r.config.runs("replay") {
		rows = append(rows, r.measureReplay(ctx))
	}

	if r.config.runs("metrics") {
		r.logf("metrics query at the final size")
		largeMetrics := r.measureMetrics(ctx)
		rows = append(rows, metricsRows(smallMetrics, largeMetrics)...)
	}

	rows = append(rows, r.peakMemoryRow())
	r.recordContention(ctx)

	return rows, nil
}

func (r *runner) seed(ctx context.Context, n int) error {
	target, err := parseTarget(r.server.URL)
	if err != nil {
		return err
	}

	conn := newLoadConn(ctx, target)
	defer conn.close()

	for i := 0; i < n; i += batchSize {
		var res Result
		res.record(conn.send(ctx, r.batchRequest(0, i/batchSize)))
		if res.Errors > 0 {
			return fmt.Errorf("error seeding events: %s", res.FirstError)
		}
		r.accepted += int64(res.Events)
	}

	_, err = r.waitDrained(ctx, 2*time.Minute)

	return err
}

// countEvents counts the rows of the events table.
func (r *runner) countEvents(ctx context.Context) (int64, error) {
	var n int64
	err := r.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("error counting events: %w", err)
	}

	return n, nil
}

// waitDrained waits until every accepted event is in the events table and
// returns how long that took.
func (r *runner) waitDrained(ctx context.Context, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		n, err := r.countEvents(ctx)
		if err != nil {
			return 0, err
		}

		if n >= r.accepted {
			return time.Since(start), nil
		}

		if time.Since(start) > limit {
			return 0, fmt.Errorf("only %d of %d accepted events reached the events table within %s", n, r.accepted, limit)
		}

		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *runner) measureSingle(ctx context.Context) Row {
	name := "bare handler, single events"
	bare := r.bracket(ctx, name, "req", r.bareCeiling(name, func() float64 {
		return RunClosed(ctx, r.bare.URL, singleConns, r.config.Duration/2, r.singleRequest).RequestsPerSecond()
	}), func() {
		r.logf("single-event ingest, %d connections, %s", singleConns, r.config.Duration)
		r.single = r.runProfiled(ctx, "single", func() Result {
			return RunClosed(ctx, r.server.URL, singleConns, r.config.Duration, r.singleRequest)
		})
	})

	res := r.single
	perSecond := res.EventsPerSecond()

	return Row{
		Measure: fmt.Sprintf("single-event ingest, %d connections", singleConns),
		Result: fmt.Sprintf("%s, p50 %s, p99 %s, %d errors of %d%s%s", rate(perSecond, "events"),
			millis(res.Percentile(0.50)), millis(res.Percentile(0.99)), res.Errors, res.Requests,
			r.storedWhenStopped("single"), firstError(res)),
		Target:  targetSingle,
		Ceiling: "bare handler " + bare.String("req"),
		Ratio:   ratio(perSecond, bare.mean()),
	}
}

// storedWhenStopped returns ", N% in `events` when the load stopped" for
// the run name, or "" when the share was not measured. The API returns 202
// once a command is in Redis, so a run can accept events faster than they
// are stored, and the rate alone would not show it.
func (r *runner) storedWhenStopped(name string) string {
	share, ok := r.stored[name]
	if !ok {
		return ""
	}

	return fmt.Sprintf(", %.0f%% in `events` when the load stopped", 100*share)
}

func (r *runner) measureBatch(ctx context.Context) Row {
	name := "bare handler, batches"
	bare := r.bracket(ctx, name, "events", r.bareCeiling(name, func() float64 {
		return RunClosed(ctx, r.bare.URL, batchConns, r.config.Duration/2, r.batchRequest).EventsPerSecond()
	}), func() {
		r.logf("batch ingest, %d connections, %s", batchConns, r.config.Duration)
		r.batch = r.runProfiled(ctx, "batch", func() Result {
			return RunClosed(ctx, r.server.URL, batchConns, r.config.Duration, r.batchRequest)
		})
	})

	res := r.batch
	perSecond := res.EventsPerSecond()

	return Row{
		Measure: fmt.Sprintf("batch ingest, %d events a request, %d connections", batchSize, batchConns),
		Result: fmt.Sprintf("%s, p50 %s, p99 %s, %d errors of %d%s%s", rate(perSecond, "events"),
			millis(res.Percentile(0.50)), millis(res.Percentile(0.99)), res.Errors, res.Requests,
			r.storedWhenStopped("batch"), firstError(res)),
		Target:  targetBatch,
		Ceiling: "bare handler " + bare.String("events"),
		Ratio:   ratio(perSecond, bare.mean()),
	}
}

// contentionSeconds is the length of each contention profile.
const contentionSeconds = 4

// recordContention saves mutex and block profiles of the single-event and
// batch loads, each from an extra run with the server's contention
// sampling on. These runs come after every measure and are not reported;
// the measured ones run with sampling off.
func (r *runner) recordContention(ctx context.Context) {
	if r.profiler == nil {
		return
	}

	type pass struct {
		name  string
		conns int
		next  func(worker, i int) Request
	}
	var passes []pass
	if r.config.runs("single") {
		passes = append(passes, pass{"single", singleConns, r.singleRequest})
	}
	if r.config.runs("batch") {
		passes = append(passes, pass{"batch", batchConns, r.batchRequest})
	}
	if len(passes) == 0 {
		return
	}

	if err := r.profiler.SetContention(ctx, true); err != nil {
		r.note("no mutex or block profiles: %v", err)
		return
	}

	for _, load := range passes {
		r.logf("mutex and block profiles of the %s load, %ds", load.name, contentionSeconds)
		finish := r.profiler.StartContention(ctx, load.name, contentionSeconds)
		RunClosed(ctx, r.server.URL, load.conns, (contentionSeconds+1)*time.Second, load.next)
		if err := finish(); err != nil {
			r.note("mutex and block profiles of the %s load: %v", load.name, err)
		}
	}

	if err := r.profiler.SetContention(ctx, false); err != nil {
		r.note("contention sampling stays on after its profiles: %v", err)
	}
}

// runProfiled runs load while the server is profiled, and counts the
// accepted events.
func (r *runner) runProfiled(ctx context.Context, name string, load func() Result) Result {
	finish := r.profiler.Start(ctx, name, max(int(r.config.Duration.Seconds())-1, 1))
	stopNote := r.cpuNote(name+" run", "eventpulse", r.server.PID(), "the load generator")
	sumBefore, countBefore, commandsErr := r.commandSizes(ctx)
	var statementsErr error
	if r.config.Statements {
		statementsErr = r.resetStatements(ctx)
	}
	storedBefore, countErr := r.countEvents(ctx)
	res := load()
	stopNote(int64(res.Events), "accepted event")
	r.accepted += int64(res.Events)

	storedAfter, err := r.countEvents(ctx)
	if countErr == nil && err == nil && res.Events > 0 {
		share := float64(storedAfter-storedBefore) / float64(res.Events)
		if r.stored == nil {
			r.stored = map[string]float64{}
		}
		r.stored[name] = share
		r.note("%s run: %s of the %s accepted events (%.0f%%) were in `events` when the load stopped; the rest waited in Redis or the log",
			name, thousands(storedAfter-storedBefore), thousands(int64(res.Events)), 100*share)
	}

	if r.config.Statements && statementsErr == nil {
		statementsErr = r.reportStatements(ctx, name, int64(res.Events))
	}
	if statementsErr != nil {
		r.note("%s run: statements not reported: %v", name, statementsErr)
	}

	sumAfter, countAfter, err := r.commandSizes(ctx)
	switch {
	case err != nil || commandsErr != nil:
		r.note("%s run: sizes of the ingest commands not read: %v", name, errors.Join(commandsErr, err))
	case countAfter > countBefore:
		r.note("%s run: the API sent %s ingest commands of %.1f events on average", name,
			thousands(int64(countAfter-countBefore)), (sumAfter-sumBefore)/(countAfter-countBefore))
	}

	if err := finish(); err != nil {
		r.note("profiles of the %s run: %v", name, err)
	}

	return res
}

// commandSizes reads the sum and the count of eventpulse_ingest_command_events
// from the server's /metrics.
func (r *runner) commandSizes(ctx context.Context) (sum, count float64, err error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, r.server.URL+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}

	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return 0, 0, err
	}
	defer response.Body.Close()

	body, err := io.ReadAll(response.Body)
	if err != nil {
		return 0, 0, err
	}

	found := 0
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}

		switch name {
		case "eventpulse_ingest_command_events_sum":
			sum, err = strconv.ParseFloat(value, 64)
			found++
		case "eventpulse_ingest_command_events_count":
			count, err = strconv.ParseFloat(value, 64)
			found++
		}

		if err != nil {
			return 0, 0, fmt.Errorf("error reading %s from /metrics: %w", name, err)
		}
	}

	if found != 2 {
		return 0, 0, errors.New("/metrics has no eventpulse_ingest_command_events")
	}

	return sum, count, nil
}

// cpuNote reads the scheduler statistics of process pid, named process,
// and the CPU time of this process, PostgreSQL and Redis now. The function
// it returns notes how long that process ran on a CPU and waited for one
// since, and how much CPU this process (described by self) and the two
// servers used meanwhile. Given the units handled, it also notes each
// one's CPU time per unit. The wait time separates a busy machine from a
// slow server.
func (r *runner) cpuNote(name, process string, pid int, self string) func(count int64, unit string) {
	start := time.Now()
	cpuBefore, waitBefore, err := SchedStat(pid)
	if err != nil {
		return func(int64, string) {}
	}
	selfBefore, selfErr := SelfCPU()
	servers := r.serverCPU()

	return func(count int64, unit string) {
		cpuAfter, waitAfter, err := SchedStat(pid)
		if err != nil {
			return
		}

		elapsed := time.Since(start)
		machine := elapsed.Seconds() * float64(runtime.NumCPU())
		onCPU := cpuAfter - cpuBefore
		note := fmt.Sprintf("%s: %s ran %.1f s on a CPU and waited %.1f s for one in %.1f s (%.0f%% of the machine's CPU time)",
			name, process, onCPU.Seconds(), (waitAfter - waitBefore).Seconds(), elapsed.Seconds(),
			100*onCPU.Seconds()/machine)

		parts := []cpuPart{{process, onCPU}}
		if selfAfter, err := SelfCPU(); err == nil && selfErr == nil {
			used := selfAfter - selfBefore
			note += fmt.Sprintf("; %s used %.1f s of CPU (%.0f%%)", self, used.Seconds(), 100*used.Seconds()/machine)
			parts = append(parts, cpuPart{self, used})
		}

		if pg, redis, ok := servers(); ok {
			note += fmt.Sprintf("; PostgreSQL used %.1f s and Redis %.1f s", pg.Seconds(), redis.Seconds())
			parts = append(parts, cpuPart{"PostgreSQL", pg}, cpuPart{"Redis", redis})
		}

		if count > 0 {
			note += perUnit(parts, count, unit, machine)
		}

		r.report.Notes = append(r.report.Notes, note)
	}
}

// cpuPart is the CPU time one process used during a run.
type cpuPart struct {
	name string
	used time.Duration
}

// perUnit describes the CPU time of each part per unit handled, their sum,
// and the sum the machine's cores allowed per unit in the same time.
func perUnit(parts []cpuPart, count int64, unit string, machineSeconds float64) string {
	var b strings.Builder
	var total time.Duration
	fmt.Fprintf(&b, ". CPU per %s: ", unit)
	for i, part := range parts {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.1f µs", part.name, micros(part.used, count))
		total += part.used
	}
	fmt.Fprintf(&b, "; %.1f µs in all, of the %.1f µs the %d cores had per %s",
		micros(total, count), 1e6*machineSeconds/float64(count), runtime.NumCPU(), unit)

	return b.String()
}

func micros(d time.Duration, count int64) float64 {
	return float64(d.Microseconds()) / float64(count)
}

// serverCPU reads the CPU time used so far by PostgreSQL (the postmaster
// and its backends) and by Redis. It returns a function that reports how
// much each used since, and false when either cannot be read.
func (r *runner) serverCPU() func() (postgres, redis time.Duration, ok bool) {
	pgPID, redisPID := r.env.ServerPIDs()
	pgBefore, pgErr := TreeCPU(pgPID)
	redisBefore, redisErr := TreeCPU(redisPID)
	if pgPID == 0 || redisPID == 0 || pgErr != nil || redisErr != nil {
		return func() (time.Duration, time.Duration, bool) { return 0, 0, false }
	}

	return func() (time.Duration, time.Duration, bool) {
		pgAfter, pgErr := TreeCPU(pgPID)
		redisAfter, redisErr := TreeCPU(redisPID)
		if pgErr != nil || redisErr != nil {
			return 0, 0, false
		}

		return pgAfter - pgBefore, redisAfter - redisBefore, true
	}
}

// bareCeiling wraps load, a run against the bare handler measured before
// and after one of ours, so that each run also notes the CPU time of the
// bare handler and of the load generator.
func (r *runner) bareCeiling(name string, load func() float64) func() float64 {
	when := "before"

	return func() float64 {
		stopNote := r.cpuNote(fmt.Sprintf("%s ceiling (%s)", name, when), "the bare handler", r.bare.PID(), "the load generator")
		start := time.Now()
		perSecond := load()
		stopNote(int64(perSecond*time.Since(start).Seconds()), "request")
		when = "after"

		return perSecond
	}
}

func (r *runner) ceilingRows() []Row {
	rows := []Row{{Measure: "ceiling: Redis XADD, redis-benchmark, 16 pipelined", Result: rate(r.xaddRate, "commands")}}

	return append(rows, r.ceilings...)
}

func firstError(res Result) string {
	if res.FirstError == "" {
		return ""
	}

	return " (first: " + res.FirstError + ")"
}

func (r *runner) peakMemoryRow() Row {
	rss, peak, err := MemoryKiB(r.server.PID())
	if err != nil {
		return Failed("peak RSS of eventpulse run", targetRSS, err)
	}

	return Row{
		Measure: "peak RSS of eventpulse run (VmHWM)",
		Result:  fmt.Sprintf("%.0f MiB (now %.0f MiB)", float64(peak)/1024, float64(rss)/1024),
		Target:  targetRSS,
	}
}
