package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// probe sends GET url and returns the status code and body.
func probe(ctx context.Context, url string) (int, []byte, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}

	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return 0, nil, err
	}
	defer response.Body.Close()

	body, err := io.ReadAll(response.Body)

	return response.StatusCode, body, err
}

// projectionLag returns the largest lag, in log records, that GET /readyz
// reports over the projections.
func projectionLag(ctx context.Context, baseURL string) (int64, error) {
	_, body, err := probe(ctx, baseURL+"/readyz")
	if err != nil {
		return 0, err
	}

	var ready struct {
		Projections []struct {
			Name       string `json:"name"`
			LagRecords *int64 `json:"lag_records"`
			// LagEvents is the same count from a server built before
			// lag_records existed.
			LagEvents int64 `json:"lag_events"`
		} `json:"projections"`
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		return 0, fmt.Errorf("error decoding /readyz %q: %w", body, err)
	}

	var lag int64
	for _, projection := range ready.Projections {
		records := projection.LagEvents
		if projection.LagRecords != nil {
			records = *projection.LagRecords
		}

		lag = max(lag, records)
	}

	return lag, nil
}

// Profiler saves pprof profiles of the server while a load runs.
type Profiler struct {
	URL string
	Dir string
}

// Start begins CPU and allocation profiles covering the next seconds and
// returns a function that waits for them and saves them, named after name.
// The allocation profile is a delta over the same seconds, so it shows
// this run only. A nil Profiler does nothing.
func (p *Profiler) Start(ctx context.Context, name string, seconds int) func() error {
	return p.start(ctx, name, seconds, []string{"profile", "allocs"}, []string{"cpu", "allocs"})
}

// StartContention begins mutex and block profiles, deltas over the next
// seconds, as Start does. The server samples contention only between
// SetContention(ctx, true) and SetContention(ctx, false).
func (p *Profiler) StartContention(ctx context.Context, name string, seconds int) func() error {
	return p.start(ctx, name, seconds, []string{"mutex", "block"}, []string{"mutex", "block"})
}

func (p *Profiler) start(ctx context.Context, name string, seconds int, kinds, files []string) func() error {
	if p == nil || p.URL == "" || p.Dir == "" {
		return func() error { return nil }
	}

	errs := make([]error, len(kinds))
	var wg sync.WaitGroup

	for i, kind := range kinds {
		wg.Go(func() {
			errs[i] = p.save(ctx, fmt.Sprintf("/debug/pprof/%s?seconds=%d", kind, seconds), name+"."+files[i]+".pprof")
		})
	}

	return func() error {
		wg.Wait()
		return errors.Join(errs...)
	}
}

// Sampling of the contention profiles while SetContention has them on: one
// contended mutex in contentionMutexFraction, and blocking events in
// proportion to their duration, one per contentionBlockRateNanos.
const (
	contentionMutexFraction  = 10
	contentionBlockRateNanos = 10_000
)

// SetContention turns the server's sampling of mutex and block events on
// or off. Block sampling costs the server CPU, so it is off while speed is
// measured.
func (p *Profiler) SetContention(ctx context.Context, on bool) error {
	if p == nil || p.URL == "" {
		return nil
	}

	query := "block_rate_ns=0&mutex_fraction=0"
	if on {
		query = fmt.Sprintf("block_rate_ns=%d&mutex_fraction=%d", contentionBlockRateNanos, contentionMutexFraction)
	}

	request, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/debug/pprof/contention?"+query, nil)
	if err != nil {
		return err
	}

	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return fmt.Errorf("error setting contention sampling: %w", err)
	}
	defer response.Body.Close()

	body, _ := io.ReadAll(response.Body)
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("error setting contention sampling: status %d: %.200s", response.StatusCode, body)
	}

	return nil
}

func (p *Profiler) save(ctx context.Context, path, file string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	status, body, err := probe(ctx, p.URL+path)
	if err != nil {
		return fmt.Errorf("error fetching %s: %w", path, err)
	}

	if status != http.StatusOK {
		return fmt.Errorf("error fetching %s: status %d: %.200s", path, status, body)
	}

	target := filepath.Join(p.Dir, file)
	if err := os.WriteFile(target, body, 0o644); err != nil {
		return fmt.Errorf("error writing %q: %w", target, err)
	}

	return nil
}
