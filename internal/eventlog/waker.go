package eventlog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/internal/logging"
)

// RecordChannel is the PostgreSQL notification channel on which the log
// announces each appended record other than EventsIngested, with the
// record's event name as payload, once the appending transaction commits
// (migration 00150).
const RecordChannel = "eventpulse_log"

// wakerReconnectDelay is the wait before listening again after the
// listening connection failed.
const wakerReconnectDelay = time.Second

// Waker listens on RecordChannel and wakes the subscribers waiting for
// records of the announced names. Subscribers also poll on their own, so a
// lost notification, or a Waker whose connection is down, delays a record
// by at most their idle poll interval.
type Waker struct {
	connConfig *pgx.ConnConfig
	logger     *slog.Logger

	mu      sync.Mutex
	waiters map[string][]chan struct{}
	all     []chan struct{}
}

// NewWaker returns a Waker that listens with its own connection, made
// from connConfig. Start it with Run.
func NewWaker(connConfig *pgx.ConnConfig, logger *slog.Logger) *Waker {
	return &Waker{connConfig: connConfig, logger: logger, waiters: map[string][]chan struct{}{}}
}

// Channel returns a channel that receives a value after a record of one of
// names was appended. Values do not queue up: one waiting value stands for
// any number of records.
func (w *Waker) Channel(names []string) <-chan struct{} {
	wake := make(chan struct{}, 1)

	w.mu.Lock()
	defer w.mu.Unlock()

	for _, name := range names {
		w.waiters[name] = append(w.waiters[name], wake)
	}
	w.all = append(w.all, wake)

	return wake
}

// Run listens until ctx ends, reconnecting after failures. Of the failures
// in a row, only the first is logged above Debug.
func (w *Waker) Run(ctx context.Context) {
	var outage logging.Outage
	for {
		err := w.listen(ctx, func() {
			outage.Recovered(ctx, w.logger, "eventlog: record listener connected again")
		})
		if ctx.Err() != nil {
			return
		}

		outage.Failed(ctx, w.logger, "eventlog: record listener failed, so subscribers poll until it reconnects",
			slog.Any("error", err))

		select {
		case <-ctx.Done():
			return
		case <-time.After(wakerReconnectDelay):
		}
	}
}

// listen calls connected once it listens, then wakes subscribers until the
// connection fails or ctx ends.
func (w *Waker) listen(ctx context.Context, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, w.connConfig.Copy())
	if err != nil {
		return fmt.Errorf("error connecting the record listener: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()

	if _, err := conn.Exec(ctx, "LISTEN "+RecordChannel); err != nil {
		return fmt.Errorf("error listening on %s: %w", RecordChannel, err)
	}
	connected()

	// Records appended while no connection listened woke no subscriber,
	// so every subscriber queries once.
	w.wakeAll()

	for {
		notification, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("error waiting for log records: %w", err)
		}

		w.mu.Lock()
		signal(w.waiters[notification.Payload])
		w.mu.Unlock()
	}
}

func (w *Waker) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()

	signal(w.all)
}

// signal leaves a value in each channel that has none waiting.
func signal(waiters []chan struct{}) {
	for _, wake := range waiters {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}
