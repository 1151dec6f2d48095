package ingest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/ingest"
)

// recorder is a SendFunc that keeps the size of every group it was given.
type recorder struct {
	mu     sync.Mutex
	groups []int
	err    error
}

func (r *recorder) send(_ context.Context, batch []events.IngestedEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups = append(r.groups, len(batch))

	return r.err
}

func (r *recorder) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]int(nil), r.groups...)
}

func sum(sizes []int) int {
	total := 0
	for _, n := range sizes {
		total += n
	}

	return total
}

func oneEvent(source string) []events.IngestedEvent {
	return []events.IngestedEvent{{EventType: "http.request", Source: source}}
}

// submitAll submits one event from each of n goroutines and returns their
// errors once every Submit returned.
func submitAll(t *testing.T, batcher *ingest.Batcher, n int) []error {
	t.Helper()

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = batcher.Submit(context.Background(), oneEvent("burst")) })
	}
	wg.Wait()

	return errs
}

func TestBatcherSendsBurstAfterQuietPeriod(t *testing.T) {
	t.Parallel()

	var rec recorder
	// With a linger of an hour, only the quiet period can end the group.
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: time.Hour, Quiet: 200 * time.Millisecond, QuietMin: 1}, rec.send)
	defer batcher.Close()

	done := make(chan []error, 1)
	go func() { done <- submitAll(t, batcher, 8) }()

	select {
	case errs := <-done:
		for _, err := range errs {
			require.NoError(t, err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a burst of submissions waited for the linger instead of the quiet period")
	}

	sizes := rec.sizes()
	require.Equal(t, 8, sum(sizes))
	require.Less(t, len(sizes), 8, "submissions of one burst must share commands: %v", sizes)
}

func TestBatcherSmallGroupWaitsForLinger(t *testing.T) {
	t.Parallel()

	var rec recorder
	const linger = 300 * time.Millisecond
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: linger, Quiet: 10 * time.Millisecond, QuietMin: 4}, rec.send)
	defer batcher.Close()

	start := time.Now()
	for _, err := range submitAll(t, batcher, 3) {
		require.NoError(t, err)
	}

	// Three events are fewer than QuietMin, so the quiet period cannot
	// end their group and only the linger does.
	require.GreaterOrEqual(t, time.Since(start), linger)
	require.Equal(t, 3, sum(rec.sizes()))
}

func TestBatcherLingerEndsSteadyStream(t *testing.T) {
	t.Parallel()

	var rec recorder
	// The quiet period is longer than the gap between submissions, so only
	// the linger can end a group.
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: 60 * time.Millisecond, Quiet: time.Hour}, rec.send)
	defer batcher.Close()

	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 10 * time.Millisecond)
			assertNoError(t, batcher.Submit(context.Background(), oneEvent("steady")))
		})
	}
	wg.Wait()

	sizes := rec.sizes()
	require.Equal(t, 30, sum(sizes))
	require.GreaterOrEqual(t, len(sizes), 3, "a stream of 300 ms must be cut by a 60 ms linger: %v", sizes)
}

func assertNoError(t *testing.T, err error) {
	t.Helper()

	if err != nil {
		t.Error(err)
	}
}

func TestBatcherMaxEventsSplitsGroups(t *testing.T) {
	t.Parallel()

	var rec recorder
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: time.Hour, Quiet: 200 * time.Millisecond, QuietMin: 1, MaxEvents: 3}, rec.send)
	defer batcher.Close()

	for _, err := range submitAll(t, batcher, 10) {
		require.NoError(t, err)
	}

	sizes := rec.sizes()
	require.Equal(t, 10, sum(sizes))
	for _, n := range sizes {
		require.LessOrEqual(t, n, 3)
	}
}

func TestBatcherLargeSubmissionSentAlone(t *testing.T) {
	t.Parallel()

	var rec recorder
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: time.Hour, Quiet: time.Hour, MaxEvents: 4}, rec.send)
	defer batcher.Close()

	batch := append(oneEvent("a"), append(oneEvent("b"), append(oneEvent("c"), oneEvent("d")...)...)...)
	require.NoError(t, batcher.Submit(context.Background(), batch))
	require.Equal(t, []int{4}, rec.sizes())
}

func TestBatcherSendErrorReachesEveryRequest(t *testing.T) {
	t.Parallel()

	rec := recorder{err: errors.New("redis is down")}
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: time.Hour, Quiet: 100 * time.Millisecond, QuietMin: 1}, rec.send)
	defer batcher.Close()

	for _, err := range submitAll(t, batcher, 5) {
		require.EqualError(t, err, "redis is down")
	}
	require.Equal(t, 5, sum(rec.sizes()))
}

func TestBatcherCloseSendsQueuedEvents(t *testing.T) {
	t.Parallel()

	var rec recorder
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: time.Hour, Quiet: time.Hour}, rec.send)

	result := make(chan error, 1)
	go func() { result <- batcher.Submit(context.Background(), oneEvent("queued")) }()

	time.Sleep(50 * time.Millisecond) // lets the submission reach the group being collected
	require.Empty(t, rec.sizes(), "nothing is sent before the linger, the quiet period or Close")
	batcher.Close()

	require.NoError(t, <-result)
	require.Equal(t, []int{1}, rec.sizes())
	require.ErrorIs(t, batcher.Submit(context.Background(), oneEvent("late")), ingest.ErrBatcherClosed)

	batcher.Close() // A second Close returns at once.
	require.Equal(t, []int{1}, rec.sizes())
}

func TestBatcherSubmitRacingCloseReturns(t *testing.T) {
	t.Parallel()

	var rec recorder
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: time.Millisecond, MaxEvents: 5}, rec.send)

	const submitters = 200
	errs := make(chan error, submitters)
	var wg sync.WaitGroup
	for i := range submitters {
		wg.Go(func() {
			if i == submitters/2 {
				batcher.Close()
			}
			errs <- batcher.Submit(context.Background(), oneEvent("race"))
		})
	}
	wg.Wait()
	close(errs)

	accepted := 0
	for err := range errs {
		if err == nil {
			accepted++
			continue
		}
		require.ErrorIs(t, err, ingest.ErrBatcherClosed)
	}
	require.Equal(t, accepted, sum(rec.sizes()), "every accepted event was sent, and nothing else")
}

func TestBatcherSubmitStopsOnContext(t *testing.T) {
	t.Parallel()

	release := make(chan struct{})
	var rec recorder
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: time.Hour, Quiet: time.Hour, MaxEvents: 2, MaxInFlight: 1},
		func(ctx context.Context, batch []events.IngestedEvent) error {
			<-release
			return rec.send(ctx, batch)
		})

	first := make(chan error, 1)
	go func() { first <- batcher.Submit(context.Background(), append(oneEvent("a"), oneEvent("b")...)) }()

	// The first group holds the only slot until release is closed, so the
	// second waits for it until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, batcher.Submit(ctx, append(oneEvent("c"), oneEvent("d")...)), context.DeadlineExceeded)

	close(release)
	require.NoError(t, <-first)
	batcher.Close()
	require.Equal(t, []int{2, 2}, rec.sizes(), "the second group is still sent once a slot is free")
}

// TestBatcherGroupGrowsWhileSlotsBusy sends single events one by one
// while the only send slot is held. Their linger ends while no slot is
// free, so they wait as one open group and go out in one command.
func TestBatcherGroupGrowsWhileSlotsBusy(t *testing.T) {
	t.Parallel()

	release := make(chan struct{})
	var rec recorder
	batcher := ingest.NewBatcher(ingest.BatcherConfig{Linger: 2 * time.Millisecond, MaxInFlight: 1},
		func(ctx context.Context, batch []events.IngestedEvent) error {
			if len(rec.sizes()) == 0 {
				<-release
			}

			return rec.send(ctx, batch)
		})
	defer batcher.Close()

	var wg sync.WaitGroup
	wg.Go(func() { assertNoError(t, batcher.Submit(context.Background(), oneEvent("holds the slot"))) })
	time.Sleep(20 * time.Millisecond)

	for range 50 {
		wg.Go(func() { assertNoError(t, batcher.Submit(context.Background(), oneEvent("waits"))) })
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()

	require.Equal(t, []int{1, 50}, rec.sizes())
}
