package projection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
)

// Defaults of LockConfig.
const (
	// LockRetryIntervalDefault is how often a standby instance tries to take
	// the lock. It bounds how long a projector stays idle after its active
	// instance died.
	LockRetryIntervalDefault = time.Second
	// LockCheckIntervalDefault is how often the active instance checks that
	// its lock connection is still alive.
	LockCheckIntervalDefault = time.Second
	// LockCheckTimeoutDefault bounds one check of the lock connection.
	LockCheckTimeoutDefault = 2 * time.Second
)

// lockNamespace prefixes the projector name before hashing it into the
// advisory lock key, so other users of advisory locks in the same database
// are unlikely to collide with projector locks.
const lockNamespace = "eventpulse.projection:"

// LockConfig configures the lock that makes one process the active instance
// of a projector.
type LockConfig struct {
	// Name is the projector's name; the lock key is derived from it.
	// Required.
	Name string
	// ConnConfig opens the dedicated connection that holds the lock.
	// Required.
	ConnConfig *pgx.ConnConfig
	// OnAcquire, when set, runs each time the lock is taken, before the
	// first record is delivered. An error releases the lock and the
	// instance tries again after RetryInterval.
	OnAcquire func(ctx context.Context) error
	// RetryInterval: see LockRetryIntervalDefault.
	RetryInterval time.Duration
	// CheckInterval: see LockCheckIntervalDefault.
	CheckInterval time.Duration
	// CheckTimeout: see LockCheckTimeoutDefault.
	CheckTimeout time.Duration
	// Logger receives lock acquisition and loss at Info. Required.
	Logger *slog.Logger
}

func (c LockConfig) withDefaults() LockConfig {
	c.RetryInterval = cmp.Or(c.RetryInterval, LockRetryIntervalDefault)
	c.CheckInterval = cmp.Or(c.CheckInterval, LockCheckIntervalDefault)
	c.CheckTimeout = cmp.Or(c.CheckTimeout, LockCheckTimeoutDefault)

	return c
}

// LockedSubscriber delivers the records of an inner log subscriber only
// while this process holds the projector's PostgreSQL advisory lock.
//
// The lock is a session lock on a dedicated connection, so PostgreSQL
// releases it when the holder's connection ends, including when its process
// is killed. A standby polls for the lock every RetryInterval and starts
// the inner subscription once it holds it. The holder pings its connection
// every CheckInterval and stops delivering when the ping fails. It releases
// the lock only after the inner subscription has stopped, so the next
// holder starts from a committed offset.
//
// The inner subscriber's FOR UPDATE lock on the offset row is not enough on
// its own: it serializes batches, but two processes could still take turns,
// and a projector that keeps state in memory (the detector's windows) must
// see every record in order.
type LockedSubscriber struct {
	inner  message.Subscriber
	config LockConfig

	mu      sync.Mutex
	closed  bool
	cancels []context.CancelFunc
	running sync.WaitGroup
}

// NewLockedSubscriber wraps inner with the projector lock described by
// config.
func NewLockedSubscriber(inner message.Subscriber, config LockConfig) (*LockedSubscriber, error) {
	var errs []error
	if inner == nil {
		errs = append(errs, errors.New("missing inner subscriber"))
	}
	if config.Name == "" {
		errs = append(errs, errors.New("missing projector name"))
	}
	if config.ConnConfig == nil {
		errs = append(errs, errors.New("missing lock connection config"))
	}
	if config.Logger == nil {
		errs = append(errs, errors.New("missing logger"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid projector lock config: %w", err)
	}

	return &LockedSubscriber{inner: inner, config: config.withDefaults()}, nil
}

// Subscribe returns a channel that delivers the records of topic while this
// process holds the lock. The channel closes when ctx ends or Close is
// called.
func (s *LockedSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closed {
		return nil, fmt.Errorf("error subscribing %q: subscriber closed", s.config.Name)
	}

	ctx, cancel := context.WithCancel(ctx)
	s.cancels = append(s.cancels, cancel)
	out := make(chan *message.Message)

	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer close(out)
		s.run(ctx, topic, out)
	}()

	return out, nil
}

// Close stops every subscription, releases the lock and closes the inner
// subscriber.
func (s *LockedSubscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, cancel := range s.cancels {
		cancel()
	}
	s.mu.Unlock()

	s.running.Wait()

	return s.inner.Close()
}

// run alternates between waiting for the lock and delivering records until
// ctx ends.
func (s *LockedSubscriber) run(ctx context.Context, topic string, out chan<- *message.Message) {
	logger := s.config.Logger.With(slog.String("projector", s.config.Name))

	for {
		conn, err := s.acquire(ctx, logger)
		if err != nil {
			return
		}

		s.deliver(ctx, conn, topic, out, logger)

		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.config.CheckTimeout)
		_ = conn.Close(closeCtx)
		cancel()

		if ctx.Err() != nil {
			logger.Debug("projection: lock released")
			return
		}

		if !sleep(ctx, s.config.RetryInterval) {
			return
		}
	}
}

// acquire returns a connection that holds the lock, trying every
// RetryInterval until it succeeds or ctx ends. A standby keeps its
// connection open between tries and opens a new one only after an error.
func (s *LockedSubscriber) acquire(ctx context.Context, logger *slog.Logger) (*pgx.Conn, error) {
	var conn *pgx.Conn
	failing := false
	waiting := false

	for {
		held, err := s.tryLock(ctx, &conn)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			logger.Warn("projection: error taking lock, retrying",
				slog.Duration("retry_interval", s.config.RetryInterval), slog.Any("error", err))
		case err == nil && !held && !waiting:
			logger.Debug("projection: lock held by another instance, waiting")
			waiting = true
		case held:
			logger.Info("projection: lock acquired")
			return conn, nil
		}
		failing = err != nil

		if !sleep(ctx, s.config.RetryInterval) {
			if conn != nil {
				_ = conn.Close(context.WithoutCancel(ctx))
			}

			return nil, ctx.Err()
		}
	}
}

// tryLock tries the lock once on *conn, connecting first when *conn is nil.
// It reports true only when the lock is held and OnAcquire succeeded. After
// an error *conn is closed and set to nil.
func (s *LockedSubscriber) tryLock(ctx context.Context, conn **pgx.Conn) (bool, error) {
	if *conn == nil {
		var err error
		*conn, err = pgx.ConnectConfig(ctx, s.config.ConnConfig.Copy())
		if err != nil {
			*conn = nil
			return false, fmt.Errorf("error connecting for lock %q: %w", s.config.Name, err)
		}
	}

	var held bool
	err := (*conn).QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`,
		lockNamespace+s.config.Name).Scan(&held)
	if err != nil {
		err = fmt.Errorf("error taking lock %q: %w", s.config.Name, err)
	} else if held && s.config.OnAcquire != nil {
		if err = s.config.OnAcquire(ctx); err != nil {
			err = fmt.Errorf("error preparing projector %q after taking its lock: %w", s.config.Name, err)
		}
	}

	if err != nil {
		// Closing the connection also releases the lock if it was taken.
		_ = (*conn).Close(context.WithoutCancel(ctx))
		*conn = nil
		return false, err
	}

	return held, nil
}

// deliver runs the inner subscription and forwards its records to out
// until the lock connection fails or ctx ends. It returns after the inner
// subscription has stopped.
func (s *LockedSubscriber) deliver(
	ctx context.Context,
	conn *pgx.Conn,
	topic string,
	out chan<- *message.Message,
	logger *slog.Logger,
) {
	// The inner subscription gets a context of its own, ended only by
	// stopInner after forward returns, so ending ctx never ends the
	// transaction of a record that a handler is still applying.
	innerCtx, stopInner := context.WithCancel(context.WithoutCancel(ctx))
	defer stopInner()

	messages, err := s.inner.Subscribe(innerCtx, topic)
	if err != nil {
		logger.Error("projection: error subscribing to the log", slog.Any("error", err))
		return
	}

	lost := make(chan error, 1)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		s.watch(innerCtx, conn, lost)
	}()

	s.forward(ctx, messages, out, lost, logger)

	// The inner subscription stops before the lock goes, so no transaction
	// of this instance is still open when the next holder starts reading.
	// Its channel closes once it has stopped. A record it still sends is
	// dropped unacknowledged, which rolls back its open batch, so the next
	// holder reads that batch again.
	stopInner()
	for range messages {
	}
	<-watchDone
}

// inFlightWaitMax bounds how long a stopping subscription waits for the
// handler of the record in flight.
const inFlightWaitMax = time.Minute

// forward passes records from messages to out one at a time, waiting for
// each to be acknowledged, until the lock is lost or ctx ends. A record is
// never abandoned while a handler is applying it, because the handler uses
// the inner subscriber's transaction.
func (s *LockedSubscriber) forward(
	ctx context.Context,
	messages <-chan *message.Message,
	out chan<- *message.Message,
	lost <-chan error,
	logger *slog.Logger,
) {
	for {
		select {
		case msg, ok := <-messages:
			if !ok {
				return
			}

			select {
			case out <- msg:
			case <-ctx.Done():
				return
			}

			// The handler applies the record with the inner subscriber's
			// transaction, so the inner subscription must not stop (and
			// end that transaction) before the handler answers, even when
			// ctx ends. The wait is bounded in case a handler never
			// answers.
			select {
			case <-msg.Acked():
			case <-msg.Nacked():
			case <-time.After(inFlightWaitMax):
				logger.Error("projection: handler did not answer within the wait; stopping anyway",
					slog.String("record_id", msg.UUID), slog.Duration("wait", inFlightWaitMax))
				return
			}

			if ctx.Err() != nil {
				return
			}
		case err := <-lost:
			logger.Info("projection: lock lost", slog.Any("error", err))
			return
		case <-ctx.Done():
			return
		}
	}
}

// watch pings the lock connection every CheckInterval and sends the first
// failure on lost.
func (s *LockedSubscriber) watch(ctx context.Context, conn *pgx.Conn, lost chan<- error) {
	ticker := time.NewTicker(s.config.CheckInterval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}

		pingCtx, cancel := context.WithTimeout(ctx, s.config.CheckTimeout)
		err := conn.Ping(pingCtx)
		cancel()

		if err != nil && ctx.Err() == nil {
			lost <- fmt.Errorf("error checking lock connection: %w", err)
			return
		}
	}
}

// sleep waits for d and reports false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()

	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
