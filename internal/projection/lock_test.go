package projection_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestMain(m *testing.M) {
	testapp.Main(m)
}

const lockTestProjector = "projection.lock_test"

// recordingProjector inserts one row per applied record, tagged with the
// worker that applied it, and counts its activations.
type recordingProjector struct {
	worker      string
	activations *atomic.Int64
	// failActivations is how many activations fail before one succeeds.
	failActivations *atomic.Int64
}

func (p recordingProjector) Name() string { return lockTestProjector }

func (recordingProjector) Handles(name string) bool { return name == events.EventsIngestedName }

func (p recordingProjector) Apply(ctx context.Context, tx pgx.Tx, _ events.Event, meta projection.Meta) error {
	_, err := tx.Exec(ctx, `INSERT INTO lock_test_applied (record_id, worker) VALUES ($1, $2)`,
		meta.RecordID, p.worker)
	return err
}

func (p recordingProjector) Activate(context.Context) error {
	p.activations.Add(1)
	if p.failActivations.Add(-1) >= 0 {
		return errors.New("activation failed")
	}

	return nil
}

type lockBundle struct {
	url  string
	pool *pgxpool.Pool
	logs *syncBuffer
}

// worker is one projection process: its own pool and router.
type worker struct {
	name            string
	activations     atomic.Int64
	failActivations atomic.Int64
	cancel          context.CancelFunc
	done            chan error
}

func setupLock(t *testing.T) *lockBundle {
	t.Helper()

	url := testapp.NewDatabase(t)
	pool, err := database.Open(context.Background(), url, 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	_, err = pool.Exec(context.Background(),
		`CREATE TABLE lock_test_applied (record_id UUID NOT NULL, worker TEXT NOT NULL)`)
	require.NoError(t, err)

	return &lockBundle{url: url, pool: pool, logs: &syncBuffer{}}
}

func (b *lockBundle) startWorker(t *testing.T, name string) *worker {
	t.Helper()

	return b.startFailingWorker(t, name, 0)
}

// startFailingWorker starts a worker whose first failures activations fail.
func (b *lockBundle) startFailingWorker(t *testing.T, name string, failures int64) *worker {
	t.Helper()

	pool, err := database.Open(context.Background(), b.url, 4)
	require.NoError(t, err)

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, watermill.NopLogger{})
	require.NoError(t, err)

	w := &worker{name: name, done: make(chan error, 1)}
	w.failActivations.Store(failures)
	logger := slog.New(slog.NewJSONHandler(b.logs, nil)).With(slog.String("worker", name))
	projector := recordingProjector{worker: name, activations: &w.activations, failActivations: &w.failActivations}
	require.NoError(t, projection.Register(router, pool, projector, logger, watermill.NopLogger{}))

	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() {
		w.done <- router.Run(ctx)
		pool.Close()
	}()
	<-router.Running()

	t.Cleanup(func() { w.stop(t) })

	return w
}

// stop cancels the worker's router and waits for it to return.
func (w *worker) stop(t *testing.T) {
	t.Helper()

	if w.cancel == nil {
		return
	}

	w.cancel()
	w.cancel = nil

	select {
	case err := <-w.done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		require.FailNow(t, "worker "+w.name+" did not stop within 15s")
	}
}

// appendRecords appends n EventsIngested records, one per transaction.
func (b *lockBundle) appendRecords(t *testing.T, n int) {
	t.Helper()

	for range n {
		require.NoError(t, b.appendRecord(context.Background()))
	}
}

func (b *lockBundle) appendRecord(ctx context.Context) error {
	now := time.Now().UTC()
	event := events.EventsIngested{Events: []events.IngestedEvent{{
		EventID:    uuid.New(),
		EventType:  "lock_test",
		Source:     "lock_test",
		Timestamp:  now,
		ReceivedAt: now,
		Payload:    json.RawMessage(`{}`),
		Metadata:   json.RawMessage(`{}`),
	}}}

	msg, err := events.NewMessage(event, events.Envelope{Actor: events.ActorAnonymous, RecordedAt: now})
	if err != nil {
		return err
	}

	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, msg)
	})
}

func (b *lockBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()

	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), query, args...).Scan(&n))

	return n
}

func (b *lockBundle) waitApplied(t *testing.T, n int) {
	t.Helper()

	testapp.WaitFor(t, 20*time.Second, fmt.Sprintf("%d records applied", n), func() bool {
		return b.count(t, `SELECT count(*) FROM lock_test_applied`) >= n
	})
	require.Equal(t, n, b.count(t, `SELECT count(*) FROM lock_test_applied`))
	require.Equal(t, n, b.count(t, `SELECT count(DISTINCT record_id) FROM lock_test_applied`),
		"each record applied once")
}

func (b *lockBundle) appliedBy(t *testing.T, name string) int {
	t.Helper()

	return b.count(t, `SELECT count(*) FROM lock_test_applied WHERE worker = $1`, name)
}

// lockHolders counts the sessions that hold the projector's advisory lock.
func (b *lockBundle) lockHolders(t *testing.T) int {
	t.Helper()

	return b.count(t, `
		SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (
			SELECT oid FROM pg_database WHERE datname = current_database())`)
}

func TestLockOneActiveInstance(t *testing.T) {
	t.Parallel()

	b := setupLock(t)
	first := b.startWorker(t, "first")
	b.appendRecords(t, 5)
	b.waitApplied(t, 5)

	second := b.startWorker(t, "second")
	b.appendRecords(t, 30)
	b.waitApplied(t, 35)
	time.Sleep(2 * projection.LockRetryIntervalDefault)
	require.Equal(t, 35, b.appliedBy(t, "first"))
	require.Equal(t, 0, b.appliedBy(t, "second"), "the standby applies nothing")
	require.Equal(t, int64(0), second.activations.Load())
	require.Equal(t, 1, b.lockHolders(t))

	first.stop(t)
	b.appendRecords(t, 20)
	b.waitApplied(t, 55)
	require.Equal(t, 20, b.appliedBy(t, "second"))
	require.Equal(t, int64(1), first.activations.Load())
	require.Equal(t, int64(1), second.activations.Load())
	require.Equal(t, 1, b.lockHolders(t))
	require.Contains(t, b.logs.String(), `"msg":"projection: lock acquired","worker":"second","projector":"`+lockTestProjector+`"`)
}

func TestLockTakeoverAfterConnectionLoss(t *testing.T) {
	t.Parallel()

	b := setupLock(t)
	b.startWorker(t, "first")
	b.appendRecords(t, 5)
	b.waitApplied(t, 5)
	b.startWorker(t, "second")

	type result struct {
		n   int
		err error
	}
	stopAppending := make(chan struct{})
	appended := make(chan result)
	go func() {
		n := 0
		for {
			select {
			case <-stopAppending:
				appended <- result{n: n}
				return
			default:
			}

			if err := b.appendRecord(context.Background()); err != nil {
				appended <- result{n: n, err: err}
				return
			}
			n++
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// Ending the holder's session has the same effect in PostgreSQL as its
	// process dying, because the lock goes with the connection.
	time.Sleep(200 * time.Millisecond)
	terminated := b.count(t, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (
			SELECT oid FROM pg_database WHERE datname = current_database())`)
	require.Equal(t, 1, terminated)

	time.Sleep(3 * projection.LockRetryIntervalDefault)
	close(stopAppending)
	appendResult := <-appended
	require.NoError(t, appendResult.err)
	total := 5 + appendResult.n

	b.waitApplied(t, total)
	require.Equal(t, 1, b.lockHolders(t))
	require.Contains(t, b.logs.String(), `"msg":"projection: lock lost","worker":"first"`)
	require.Equal(t, 2, strings.Count(b.logs.String(), `"msg":"projection: lock acquired"`),
		"one takeover after the first acquisition")
}

func TestLockActivateErrorReleasesLock(t *testing.T) {
	t.Parallel()

	b := setupLock(t)
	w := b.startFailingWorker(t, "failing", 2)
	b.appendRecords(t, 10)

	b.waitApplied(t, 10)
	require.Equal(t, int64(3), w.activations.Load(), "two failures, then success")
	require.Equal(t, 1, b.lockHolders(t))
	require.Equal(t, 1, strings.Count(b.logs.String(), "activation failed"), "repeated failures logged once")
	require.Equal(t, 1, strings.Count(b.logs.String(), `"msg":"projection: lock acquired"`))
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.buf.String()
}
