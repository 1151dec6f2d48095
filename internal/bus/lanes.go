package bus

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// laneSeparator joins a worker's consumer name and a lane number into the
// consumer name of that lane.
const laneSeparator = "#lane"

// LaneConsumer returns the consumer name of lane n of worker consumer. Lane 0
// keeps the worker's own name, so a worker with one lane reads as it did
// before lanes existed.
func LaneConsumer(consumer string, n int) string {
	if n == 0 {
		return consumer
	}

	return consumer + laneSeparator + strconv.Itoa(n)
}

// laneWorker returns the worker name of a lane's consumer name, and false
// when name carries no lane number.
func laneWorker(name string) (string, bool) {
	i := strings.LastIndex(name, laneSeparator)
	if i < 0 {
		return "", false
	}

	n, err := strconv.Atoi(name[i+len(laneSeparator):])
	if err != nil || n < 1 {
		return "", false
	}

	return name[:i], true
}

// lanes is a subscriber made of several subscribers of one consumer group,
// one per lane. Each delivers its next command only after the router
// acknowledged the previous one, and the router handles every message it
// receives in its own goroutine, so n lanes handle up to n commands at
// once in this process.
type lanes struct {
	subscribers []message.Subscriber
	closing     chan struct{}
	closeOnce   sync.Once
}

func newLanes(n int, subscriber func(lane int) (message.Subscriber, error)) (message.Subscriber, error) {
	if n <= 1 {
		return subscriber(0)
	}

	l := &lanes{closing: make(chan struct{})}
	for i := range n {
		s, err := subscriber(i)
		if err != nil {
			return nil, errors.Join(err, l.Close())
		}
		l.subscribers = append(l.subscribers, s)
	}

	return l, nil
}

// Subscribe merges the messages of every lane into one channel, which
// closes once every lane's channel closed. A message that no one takes
// before ctx ends or Close is dropped unacknowledged, so it stays pending
// and is delivered again.
func (l *lanes) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	out := make(chan *message.Message)
	var wg sync.WaitGroup

	for _, s := range l.subscribers {
		in, err := s.Subscribe(ctx, topic)
		if err != nil {
			return nil, err
		}

		wg.Go(func() {
			for msg := range in {
				select {
				case out <- msg:
				case <-ctx.Done():
				case <-l.closing:
				}
			}
		})
	}

	go func() {
		wg.Wait()
		close(out)
	}()

	return out, nil
}

// Close closes every lane.
func (l *lanes) Close() error {
	l.closeOnce.Do(func() { close(l.closing) })

	var errs []error
	for _, s := range l.subscribers {
		errs = append(errs, s.Close())
	}

	return errors.Join(errs...)
}
