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
	// Linger is how long the first event of a group waits for others
	// before the group is sent. Default: LingerDefault.
	Linger time.Duration
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
	closed   sync.Once
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

	if len(batch) >= b.config.MaxEvents {
		select {
		case <-b.closing:
			return ErrBatcherClosed
		case b.slots <- struct{}{}:
		}

		b.inFlight.Add(1)
		go b.sendGroup([]*submission{sub})
	} else {
		select {
		case <-b.closing:
			return ErrBatcherClosed
		case b.requests <- sub:
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	select {
	case err := <-sub.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting submissions, sends what is queued and waits for
// every send to finish.
func (b *Batcher) Close() {
	b.closed.Do(func() { close(b.closing) })
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

// collect gathers submissions until the group is full or the linger of
// its first submission is over.
func (b *Batcher) collect(first *submission) []*submission {
	group := []*submission{first}
	count := len(first.events)
	timer := time.NewTimer(b.config.Linger)
	defer timer.Stop()

	for count < b.config.MaxEvents {
		select {
		case sub := <-b.requests:
			group = append(group, sub)
			count += len(sub.events)
		case <-timer.C:
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
		batch = make([]events.IngestedEvent, 0, b.config.MaxEvents)
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
