package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RedisXADD runs redis-benchmark against the Redis at port with n XADD
// commands, pipelined 16 deep, and returns its commands per second.
func RedisXADD(ctx context.Context, port, n int) (float64, string, error) {
	args := []string{
		"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-q", "-n", strconv.Itoa(n), "-P", "16",
		"XADD", "bench.ceiling", "*", "f", "v",
	}
	command := "redis-benchmark " + strings.Join(args, " ")

	output, err := exec.CommandContext(ctx, "redis-benchmark", args...).CombinedOutput()
	if err != nil {
		return 0, command, fmt.Errorf("error running %s: %w: %s", command, err, output)
	}

	rate, err := parseRedisBenchmark(string(output))
	if err != nil {
		return 0, command, err
	}

	return rate, command, nil
}

var requestsPerSecond = regexp.MustCompile(`([0-9.]+) requests per second`)

// parseRedisBenchmark reads the last rate of redis-benchmark -q output,
// whose final line reads like "XADD ...: 123456.79 requests per second,
// p50=0.831 msec" after progress lines separated by carriage returns.
func parseRedisBenchmark(output string) (float64, error) {
	matches := requestsPerSecond.FindAllStringSubmatch(output, -1)
	if len(matches) == 0 {
		return 0, fmt.Errorf("no rate found in redis-benchmark output %q", output)
	}

	return strconv.ParseFloat(matches[len(matches)-1][1], 64)
}

// InsertCeiling inserts rows into the events table of the database at
// databaseURL with multi-row INSERT statements of perStatement rows, one
// statement per transaction, from conns connections, and returns rows per
// second. The rows are the bodies of events with fresh ids.
func InsertCeiling(ctx context.Context, databaseURL string, events Events, conns, rows, perStatement int) (float64, error) {
	config, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return 0, fmt.Errorf("error parsing the ceiling database URL: %w", err)
	}
	config.MaxConns = int32(conns)

	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return 0, fmt.Errorf("error connecting to the ceiling database: %w", err)
	}
	defer pool.Close()

	statements := rows / perStatement
	argsList := make([][]any, statements)
	for i := range statements {
		argsList[i], err = insertArgs(events, i*perStatement, perStatement)
		if err != nil {
			return 0, err
		}
	}

	query := multiRowInsert(perStatement)
	work := make(chan []any)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	start := time.Now()

	for range conns {
		wg.Go(func() {
			for args := range work {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, query, args...)
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("error inserting %d rows: %w", perStatement, err)
					return
				}
			}
		})
	}

	for _, args := range argsList {
		work <- args
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)

	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}

	return float64(statements*perStatement) / elapsed.Seconds(), nil
}

func multiRowInsert(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (event_id, event_type, source, "timestamp", received_at, payload, metadata) VALUES `)

	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		p := i * 7
		fmt.Fprintf(&b, "($%d,$%d,$%d,$%d,$%d,$%d,$%d)", p+1, p+2, p+3, p+4, p+5, p+6, p+7)
	}

	return b.String()
}

// ceilingEvent is the plain decoding of an event that the ceilings use, so
// they do not depend on the code they are compared with.
type ceilingEvent struct {
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	Source    string          `json:"source"`
	Timestamp string          `json:"timestamp"`
	Payload   json.RawMessage `json:"payload"`
	Metadata  json.RawMessage `json:"metadata"`
}

func insertArgs(events Events, offset, n int) ([]any, error) {
	args := make([]any, 0, n*7)
	now := time.Now().UTC()

	for i := range n {
		var event ceilingEvent
		if err := json.Unmarshal(events.Bodies[(offset+i)%len(events.Bodies)], &event); err != nil {
			return nil, fmt.Errorf("error decoding a ceiling event: %w", err)
		}

		timestamp, err := time.Parse(time.RFC3339Nano, event.Timestamp)
		if err != nil {
			timestamp = now
		}

		args = append(args, uuid.Must(uuid.NewV7()), event.EventType, event.Source, timestamp, now,
			jsonOrEmpty(event.Payload), jsonOrEmpty(event.Metadata))
	}

	return args, nil
}

func jsonOrEmpty(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}

	return string(raw)
}

// BareServer is a child process serving the bare handlers: events decoded
// with encoding/json and answered with 202, with none of EventPulse's work
// behind them. It runs in its own process, as eventpulse does, so the load
// generator does not take its processors.
type BareServer struct {
	URL string
	cmd *exec.Cmd
}

// StartBareServer runs command with the flag -serve-bare ADDR on a free
// loopback port and waits until the port accepts connections. command must
// call ServeBare for that flag; cmd/eventpulse-bench does.
func StartBareServer(ctx context.Context, command string) (*BareServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(command, "-serve-bare", addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("error starting the bare handler %s: %w", command, err)
	}

	server := &BareServer{URL: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(10 * time.Second)

	for {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			return server, nil
		}

		if time.Now().After(deadline) {
			_ = server.Close()
			return nil, fmt.Errorf("the bare handler did not listen on %s within 10s: %w", addr, err)
		}

		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the process id.
func (s *BareServer) PID() int { return s.cmd.Process.Pid }

// Close stops the process.
func (s *BareServer) Close() error {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()

	return nil
}

// ServeBare serves the bare handlers on addr until the process ends.
func ServeBare(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/events", bareEvent)
	mux.HandleFunc("POST /api/v1/events/batch", bareBatch)

	server := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	return server.ListenAndServe()
}

func bareEvent(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	var event ceilingEvent
	if err := json.Unmarshal(body, &event); err != nil || event.EventType == "" || event.Source == "" {
		http.Error(w, "invalid event", http.StatusBadRequest)
		return
	}

	id := uuid.Must(uuid.NewV7())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"accepted","event_id":"` + id.String() + `"}`))
}

func bareBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	var batch []ceilingEvent
	if err := json.Unmarshal(body, &batch); err != nil || len(batch) == 0 {
		http.Error(w, "invalid batch", http.StatusBadRequest)
		return
	}

	ids := make([]string, len(batch))
	for i := range batch {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}

	answer, err := json.Marshal(map[string]any{"status": "accepted", "count": len(batch), "event_ids": ids})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(answer)
}
