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
			Name      string `json:"name"`
			LagEvents int64  `json:"lag_events"`
		} `json:"projections"`
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		return 0, fmt.Errorf("error decoding /readyz %q: %w", body, err)
	}

	var lag int64
	for _, projection := range ready.Projections {
		lag = max(lag, projection.LagEvents)
	}

	return lag, nil
}

// Profiler saves pprof profiles of the server while a load runs.
type Profiler struct {
	URL string
	Dir string
}

// Start begins CPU, allocation, mutex and block profiles covering the next
// seconds and returns a function that waits for them and saves them, named
// after name. The last three are deltas over the same seconds, so they
// show this run only. A nil Profiler does nothing.
func (p *Profiler) Start(ctx context.Context, name string, seconds int) func() error {
	if p == nil || p.URL == "" || p.Dir == "" {
		return func() error { return nil }
	}

	kinds := []string{"profile", "allocs", "mutex", "block"}
	files := []string{"cpu", "allocs", "mutex", "block"}
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
