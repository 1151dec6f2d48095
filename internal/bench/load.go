// Package bench measures EventPulse end to end and the limits it is judged
// against: the load generator, the ceilings and the result table used by
// cmd/eventpulse-bench.
package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Request is one POST the load generator sends.
type Request struct {
	Path string
	Body []byte
	// Events is how many events Body carries.
	Events int
}

// Result summarises one load run.
type Result struct {
	Requests int
	Events   int
	Errors   int
	// FirstError describes the first failed request, empty when none failed.
	FirstError string
	Elapsed    time.Duration
	Latencies  []time.Duration
}

// EventsPerSecond is the rate of events in accepted requests.
func (r Result) EventsPerSecond() float64 {
	return float64(r.Events) / r.Elapsed.Seconds()
}

// RequestsPerSecond is the rate of accepted requests.
func (r Result) RequestsPerSecond() float64 {
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which the fraction p (0..1) of the
// requests finished.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}

	sorted := slices.Clone(r.Latencies)
	slices.Sort(sorted)
	index := int(p * float64(len(sorted)-1))

	return sorted[index]
}

func (r *Result) merge(other Result) {
	r.Requests += other.Requests
	r.Events += other.Events
	r.Errors += other.Errors
	r.Latencies = append(r.Latencies, other.Latencies...)
	if r.FirstError == "" {
		r.FirstError = other.FirstError
	}
}

// RunClosed sends requests from conns workers for duration. Each worker
// has its own keep-alive connection and sends its next request as soon as
// the response to the previous one has arrived. next returns the i-th request of a worker.
// Requests pending when duration ends are cut short and not counted.
func RunClosed(
	ctx context.Context,
	baseURL string,
	conns int,
	duration time.Duration,
	next func(worker, i int) Request,
) Result {
	target, err := parseTarget(baseURL)
	if err != nil {
		return failedRun(err)
	}

	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()

	results := make([]Result, conns)
	var wg sync.WaitGroup
	start := time.Now()

	for worker := range conns {
		wg.Go(func() {
			conn := newLoadConn(ctx, target)
			defer conn.close()

			res := &results[worker]
			for i := 0; ctx.Err() == nil; i++ {
				res.record(conn.send(ctx, next(worker, i)))
			}
		})
	}

	wg.Wait()

	var total Result
	for _, res := range results {
		total.merge(res)
	}
	total.Elapsed = time.Since(start)

	return total
}

// RunOpen sends requests at a fixed rate per second for duration,
// whatever the answers' latency, so a slow server cannot lower the offered
// load. At most maxInFlight requests are outstanding, and a request that
// would exceed it is counted as an error. Each request takes a keep-alive
// connection from a pool of at most maxInFlight. Requests outstanding when
// duration ends run until they finish or reach requestTimeout.
func RunOpen(
	ctx context.Context,
	baseURL string,
	rate float64,
	maxInFlight int,
	duration time.Duration,
	next func(i int) Request,
) Result {
	target, err := parseTarget(baseURL)
	if err != nil {
		return failedRun(err)
	}

	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()

	// The requests may outlive the run's deadline by their own latency.
	requestCtx := context.WithoutCancel(ctx)
	var mu sync.Mutex
	var total Result
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxInFlight)
	// idle never holds more than maxInFlight connections, because a new one
	// is made only when idle is empty and its sender holds a slot.
	idle := make(chan *loadConn, maxInFlight)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()

	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}

		if ctx.Err() != nil {
			break
		}

		select {
		case slots <- struct{}{}:
		default:
			mu.Lock()
			total.record(outcome{err: fmt.Errorf("more than %d requests outstanding", maxInFlight)})
			mu.Unlock()

			continue
		}

		conn := takeIdle(requestCtx, idle, target)
		request := next(i)
		wg.Go(func() {
			o := conn.send(requestCtx, request)
			idle <- conn
			<-slots

			mu.Lock()
			total.record(o)
			mu.Unlock()
		})
	}

	wg.Wait()
	total.Elapsed = time.Since(start)

	close(idle)
	for conn := range idle {
		conn.close()
	}

	return total
}

// takeIdle returns a connection from idle, or a new one when idle is empty.
func takeIdle(ctx context.Context, idle chan *loadConn, t target) *loadConn {
	select {
	case conn := <-idle:
		return conn
	default:
		return newLoadConn(ctx, t)
	}
}

// failedRun is the result of a run that could not send a request.
func failedRun(err error) Result {
	var res Result
	res.record(outcome{err: err})

	return res
}

type outcome struct {
	events  int
	latency time.Duration
	err     error
	// aborted marks a request cut short by the end of the run, which is
	// neither a success nor an error.
	aborted bool
}

func (r *Result) record(o outcome) {
	if o.aborted {
		return
	}

	r.Requests++
	if o.err != nil {
		r.Errors++
		if r.FirstError == "" {
			r.FirstError = o.err.Error()
		}

		return
	}

	r.Events += o.events
	r.Latencies = append(r.Latencies, o.latency)
}
