// Package bench measures EventPulse end to end and the limits it is judged
// against: the load generator, the ceilings and the result table used by
// cmd/eventpulse-bench.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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

// NewClient returns an HTTP client that keeps up to conns connections
// alive to one host, so every request after the first reuses a connection.
func NewClient(conns int) *http.Client {
	transport := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}

	return &http.Client{Transport: transport, Timeout: 30 * time.Second}
}

// RunClosed sends requests from conns workers, each sending its next
// request as soon as the previous one is answered, for duration. next
// returns the i-th request of a worker.
func RunClosed(
	ctx context.Context,
	client *http.Client,
	baseURL string,
	conns int,
	duration time.Duration,
	next func(worker, i int) Request,
) Result {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()

	results := make([]Result, conns)
	var wg sync.WaitGroup
	start := time.Now()

	for worker := range conns {
		wg.Go(func() {
			res := &results[worker]
			for i := 0; ctx.Err() == nil; i++ {
				res.record(send(ctx, client, baseURL, next(worker, i)))
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
// load. At most maxInFlight requests are outstanding; a request that would
// exceed it is counted as an error.
func RunOpen(
	ctx context.Context,
	client *http.Client,
	baseURL string,
	rate float64,
	maxInFlight int,
	duration time.Duration,
	next func(i int) Request,
) Result {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()

	var mu sync.Mutex
	var total Result
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxInFlight)
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

		request := next(i)
		wg.Go(func() {
			defer func() { <-slots }()
			// The request may outlive the run's deadline by its own latency.
			o := send(context.WithoutCancel(ctx), client, baseURL, request)
			mu.Lock()
			total.record(o)
			mu.Unlock()
		})
	}

	wg.Wait()
	total.Elapsed = time.Since(start)

	return total
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

func send(ctx context.Context, client *http.Client, baseURL string, request Request) outcome {
	httpRequest, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+request.Path, bytes.NewReader(request.Body))
	if err != nil {
		return outcome{err: err}
	}
	httpRequest.Header.Set("Content-Type", "application/json")

	start := time.Now()
	response, err := client.Do(httpRequest)
	if err != nil {
		if ctx.Err() != nil {
			return outcome{aborted: true}
		}

		return outcome{err: err}
	}

	// Reading the body to its end lets the transport reuse the connection.
	body, err := io.ReadAll(response.Body)
	_ = response.Body.Close()
	latency := time.Since(start)

	switch {
	case err != nil && ctx.Err() != nil:
		return outcome{aborted: true}
	case err != nil:
		return outcome{err: fmt.Errorf("error reading the answer to POST %s: %w", request.Path, err)}
	case response.StatusCode != http.StatusAccepted:
		return outcome{err: fmt.Errorf("POST %s returned status %d: %.200s", request.Path, response.StatusCode, body)}
	}

	return outcome{events: request.Events, latency: latency}
}
