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
//
// Submissions join the open group under a mutex and timers end the group,
// so no goroutine wakes up for each submission.
type Batcher struct {
	config BatcherConfig
	send   SendFunc
	slots  chan struct{}

	// mu guards isClosed and open.
	mu       sync.Mutex
	isClosed bool
	// open is the group that submissions join, nil between groups.
	open *group
	// inFlight counts the groups taken out of open and not sent yet, so
	// Close waits for them.
	inFlight sync.WaitGroup
}

// group is the submissions of one command. Its timers end it, and the
// goroutine that takes it out of Batcher.open sends it, so it is sent once.
type group struct {
	submissions []*submission
	count       int
	linger      *time.Timer
	quiet       *time.Timer
	// due is set when a timer ended the group while every send slot was
	// busy. The group stays open and keeps growing until a send finishes
	// and takes it.
	due bool
}

type submission struct {
	events []events.IngestedEvent
	done   chan error
}

// NewBatcher returns a Batcher; stop it with Close.
func NewBatcher(config BatcherConfig, send SendFunc) *Batcher {
	if send == nil {
		panic("ingest: NewBatcher needs a SendFunc")
	}

	config = config.withDefaults()

	return &Batcher{
		config: config,
		send:   send,
		slots:  make(chan struct{}, config.MaxInFlight),
	}
}

// Submit sends batch, grouped with other submissions when it is small, and
// returns the send's error. When ctx ends first, Submit returns ctx.Err()
// but the events may still be sent.
func (b *Batcher) Submit(ctx context.Context, batch []events.IngestedEvent) error {
	sub := &submission{events: batch, done: make(chan error, 1)}

	full, err := b.join(sub)
	if err != nil {
		return err
	}
	if full != nil {
		// The group is sent from its own goroutine, so Submit can return
		// when ctx ends while the group waits for a send slot.
		go b.sendGroup(full)
	}

	select {
	case err := <-sub.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// join adds sub to the open group, opening one when there is none, and
// returns the group when sub filled it. A submission of MaxEvents events
// or more is a group of its own.
func (b *Batcher) join(sub *submission) (*group, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	if b.isClosed {
		return nil, ErrBatcherClosed
	}

	if len(sub.events) >= b.config.MaxEvents {
		b.inFlight.Add(1)
		return &group{submissions: []*submission{sub}, count: len(sub.events)}, nil
	}

	g := b.open
	if g == nil {
		g = &group{}
		g.linger = time.AfterFunc(b.config.Linger, func() { b.expire(g) })
		b.open = g
	}

	g.submissions = append(g.submissions, sub)
	g.count += len(sub.events)

	switch {
	case g.count >= b.config.MaxEvents:
		b.takeOpen()
		return g, nil
	case g.count < b.config.QuietMin:
	case g.quiet == nil:
		g.quiet = time.AfterFunc(b.config.Quiet, func() { b.expire(g) })
	default:
		g.quiet.Reset(b.config.Quiet)
	}

	return nil, nil
}

// takeOpen takes the open group out of the Batcher, stops its timers and
// counts it in flight. The caller holds mu and sends the group.
func (b *Batcher) takeOpen() {
	g := b.open
	b.open = nil
	g.linger.Stop()
	if g.quiet != nil {
		g.quiet.Stop()
	}
	b.inFlight.Add(1)
}

// expire sends g when one of its timers fired while it was still open and
// a send slot is free, and marks it due otherwise. A timer that fires after
// the group was taken finds another group, or none, open and does nothing.
func (b *Batcher) expire(g *group) {
	b.mu.Lock()
	if b.open != g {
		b.mu.Unlock()
		return
	}

	select {
	case b.slots <- struct{}{}:
	default:
		g.due = true
		b.mu.Unlock()

		return
	}

	b.takeOpen()
	b.mu.Unlock()

	b.sendHeld(g)
}

// takeDue takes the open group when it is due and a send slot is free, and
// returns it with the slot held, or nil.
func (b *Batcher) takeDue() *group {
	b.mu.Lock()
	defer b.mu.Unlock()

	g := b.open
	if g == nil || !g.due {
		return nil
	}

	select {
	case b.slots <- struct{}{}:
		b.takeOpen()
		return g
	default:
		return nil
	}
}

// Close stops accepting submissions, sends the open group and waits for
// every send to finish.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.isClosed = true
	g := b.open
	if g != nil {
		b.takeOpen()
	}
	b.mu.Unlock()

	if g != nil {
		b.sendGroup(g)
	}

	b.inFlight.Wait()
}

// sendGroup sends g once a slot is free.
func (b *Batcher) sendGroup(g *group) {
	b.slots <- struct{}{}
	b.sendHeld(g)
}

// sendHeld sends g with the slot its caller holds. Each time a send
// finishes, the freed slot goes to the open group if it is due, so a group
// that waited for a slot goes out as one command.
func (b *Batcher) sendHeld(g *group) {
	for g != nil {
		b.deliver(g)
		<-b.slots
		g = b.takeDue()
	}
}

// deliver sends g and passes the result to each submission.
func (b *Batcher) deliver(g *group) {
	defer b.inFlight.Done()

	batch := g.submissions[0].events
	if len(g.submissions) > 1 {
		batch = make([]events.IngestedEvent, 0, g.count)
		for _, sub := range g.submissions {
			batch = append(batch, sub.events...)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), b.config.SendTimeout)
	err := b.send(ctx, batch)
	cancel()

	for _, sub := range g.submissions {
		sub.done <- err
	}
}
