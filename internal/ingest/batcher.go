package ingest

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/eventpulse/eventpulse/events"
)

// Batcher defaults.
const (
	LingerDefault      = 2 * time.Millisecond
	QuietDefault       = 100 * time.Microsecond
	QuietMinDefault    = 16
	MaxEventsDefault   = 500
	MaxInFlightDefault = 8
	SendTimeoutDefault = 5 * time.Second
)

// ErrBatcherClosed is returned by Submit after Close.
var ErrBatcherClosed = errors.New("ingest batcher is closed")

// SendFunc sends one command carrying batch and returns once the command
// bus has it.
type SendFunc func(ctx context.Context, batch []events.IngestedEvent) error

// BatcherConfig configures a Batcher.
type BatcherConfig struct {
	// Linger is the longest the first event of a group waits for others
	// before the group is sent. Default: LingerDefault.
	Linger time.Duration
	// Quiet sends a group before its linger is over when no submission
	// arrived for this long, so a burst of requests is sent as soon as it
	// ends. Default: QuietDefault, or Linger when Linger is shorter.
	Quiet time.Duration
	// QuietMin is how many events a group holds before the quiet period
	// may end it. Smaller groups wait for the linger, so a moderate
	// stream of single events does not become one command per event.
	// Default: QuietMinDefault.
	QuietMin int
	// MaxEvents sends a group as soon as it holds this many events; a
	// submission of at least MaxEvents events is sent on its own.
	// Default: MaxEventsDefault.
	MaxEvents int
	// MaxInFlight bounds the commands being sent at once.
	// Default: MaxInFlightDefault.
	MaxInFlight int
	// SendTimeout bounds one send. Default: SendTimeoutDefault.
	SendTimeout time.Duration
}

func (c BatcherConfig) withDefaults() BatcherConfig {
	c.Linger = cmp.Or(c.Linger, LingerDefault)
	c.Quiet = min(cmp.Or(c.Quiet, QuietDefault), c.Linger)
	c.QuietMin = cmp.Or(c.QuietMin, QuietMinDefault)
	c.MaxEvents = cmp.Or(c.MaxEvents, MaxEventsDefault)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, MaxInFlightDefault)
	c.SendTimeout = cmp.Or(c.SendTimeout, SendTimeoutDefault)

	return c
}

// Batcher groups events submitted close together into one command, because
// one command per event caps the whole pipeline far below its batch rate.
// Each Submit returns only after the command holding its events was sent,
// so an accepted event is in Redis, not in this process's memory.
type Batcher struct {
	config   BatcherConfig
	send     SendFunc
	requests chan *submission
	slots    chan struct{}
	closing  chan struct{}
	// mu guards isClosed. Submit holds it for reading while it enqueues.
	mu       sync.RWMutex
	isClosed bool
	loopDone chan struct{}
	inFlight sync.WaitGroup
}

type submission struct {
	events []events.IngestedEvent
	done   chan error
}

// NewBatcher starts a Batcher; stop it with Close.
func NewBatcher(config BatcherConfig, send SendFunc) *Batcher {
	if send == nil {
		panic("ingest: NewBatcher needs a SendFunc")
	}

	config = config.withDefaults()
	b := &Batcher{
		config:   config,
		send:     send,
		requests: make(chan *submission, config.MaxEvents),
		slots:    make(chan struct{}, config.MaxInFlight),
		closing:  make(chan struct{}),
		loopDone: make(chan struct{}),
	}

	go b.loop()

	return b
}

// Submit sends batch, grouped with other submissions when it is small, and
// returns the send's error. When ctx ends first, Submit returns ctx.Err()
// but the events may still be sent.
func (b *Batcher) Submit(ctx context.Context, batch []events.IngestedEvent) error {
	sub := &submission{events: batch, done: make(chan error, 1)}
	if err := b.enqueue(ctx, sub); err != nil {
		return err
	}

	select {
	case err := <-sub.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue hands sub to the loop, or starts its send when it fills a
// command on its own. It holds the read lock, so Close, which takes the
// write lock, waits for it and the loop then drains every queued
// submission.
func (b *Batcher) enqueue(ctx context.Context, sub *submission) error {
	b.mu.RLock()
	defer b.mu.RUnlock()

	if b.isClosed {
		return ErrBatcherClosed
	}

	if len(sub.events) >= b.config.MaxEvents {
		select {
		case b.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}

		b.inFlight.Add(1)
		go b.sendGroup([]*submission{sub})

		return nil
	}

	select {
	case b.requests <- sub:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting submissions, sends what is queued and waits for
// every send to finish.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.isClosed {
		b.isClosed = true
		close(b.closing)
	}
	b.mu.Unlock()

	<-b.loopDone
	b.inFlight.Wait()
}

func (b *Batcher) loop() {
	defer close(b.loopDone)

	for {
		var first *submission
		select {
		case first = <-b.requests:
		case <-b.closing:
			b.drain()
			return
		}

		b.dispatch(b.collect(first))
	}
}

// collect gathers submissions until the group is full, the linger of its
// first submission is over, the Batcher is closing, or the group holds
// QuietMin events and no submission arrived for the quiet period. Requests
// that arrive together, such as the next round of clients that each wait
// for their response, share a command without waiting the whole linger. A
// steady stream fills groups up to the linger.
func (b *Batcher) collect(first *submission) []*submission {
	group := []*submission{first}
	count := len(first.events)
	linger := time.NewTimer(b.config.Linger)
	defer linger.Stop()

	quiet := time.NewTimer(b.config.Quiet)
	defer quiet.Stop()
	var quietOver <-chan time.Time
	if count >= b.config.QuietMin {
		quietOver = quiet.C
	}

	for count < b.config.MaxEvents {
		select {
		case sub := <-b.requests:
			group = append(group, sub)
			count += len(sub.events)
			if count >= b.config.QuietMin {
				quiet.Reset(b.config.Quiet)
				quietOver = quiet.C
			}
		case <-quietOver:
			return group
		case <-linger.C:
			return group
		case <-b.closing:
			return group
		}
	}

	return group
}

func (b *Batcher) drain() {
	for {
		select {
		case sub := <-b.requests:
			b.dispatch(b.collect(sub))
		default:
			return
		}
	}
}

func (b *Batcher) dispatch(group []*submission) {
	b.slots <- struct{}{}
	b.inFlight.Add(1)

	go b.sendGroup(group)
}

func (b *Batcher) sendGroup(group []*submission) {
	defer b.inFlight.Done()
	defer func() { <-b.slots }()

	batch := group[0].events
	if len(group) > 1 {
		count := 0
		for _, sub := range group {
			count += len(sub.events)
		}

		batch = make([]events.IngestedEvent, 0, count)
		for _, sub := range group {
			batch = append(batch, sub.events...)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), b.config.SendTimeout)
	err := b.send(ctx, batch)
	cancel()

	for _, sub := range group {
		sub.done <- err
	}
}
