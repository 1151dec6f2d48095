package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

// load sends events in batches and records which were accepted.
type load struct {
	url       string
	batchSize int
	client    *http.Client

	mu       sync.Mutex
	accepted []uuid.UUID
	statuses map[int]int
	// retryAfterMissing counts 503 responses without Retry-After.
	retryAfterMissing int
}

func newLoad(url string, batchSize int) *load {
	return &load{
		url:       url,
		batchSize: batchSize,
		client:    &http.Client{Timeout: 10 * time.Second},
		statuses:  map[int]int{},
	}
}

// sendBatch posts one batch of fresh events and returns the status, 0 when
// the request failed before a response.
func (l *load) sendBatch(source string) int {
	ids := make([]uuid.UUID, l.batchSize)
	items := make([]map[string]any, l.batchSize)
	for i := range ids {
		ids[i] = uuid.New()
		items[i] = map[string]any{
			"event_id":   ids[i],
			"event_type": []string{"info", "error", "warn"}[i%3],
			"source":     source,
			"payload":    map[string]any{"n": i},
		}
	}

	return l.post(ids, items)
}

// post sends items, whose ids are ids, as one batch and returns the status,
// 0 when the request failed before a response.
func (l *load) post(ids []uuid.UUID, items []map[string]any) int {
	body, _ := json.Marshal(items)
	response, err := l.client.Post(l.url+"/api/v1/events/batch", "application/json", bytes.NewReader(body))
	if err != nil {
		l.record(0, nil, false)
		return 0
	}
	defer response.Body.Close()
	_, _ = io.Copy(io.Discard, response.Body)

	if response.StatusCode == http.StatusAccepted {
		l.record(response.StatusCode, ids, false)
	} else {
		l.record(response.StatusCode, nil, response.Header.Get("Retry-After") == "")
	}

	return response.StatusCode
}

func (l *load) record(status int, ids []uuid.UUID, retryAfterMissing bool) {
	l.mu.Lock()
	defer l.mu.Unlock()

	l.statuses[status]++
	l.accepted = append(l.accepted, ids...)
	if status == http.StatusServiceUnavailable && retryAfterMissing {
		l.retryAfterMissing++
	}
}

// sendPairBatches sends batches 0 to batches-1 of pairBatch from workers
// goroutines, sending a refused batch again with the same events, so
// exactly batches*batchSize events are accepted.
func (l *load) sendPairBatches(batches, workers int, source string) {
	jobs := make(chan int, batches)
	for b := range batches {
		jobs <- b
	}
	close(jobs)

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				ids, items := pairBatch(b, l.batchSize, source)
				for l.post(ids, items) != http.StatusAccepted {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
}

// sendUntilClosed sends batches from workers goroutines until stop is
// closed, then closes the returned channel.
func (l *load) sendUntilClosed(stop <-chan struct{}, workers int, source string) <-chan struct{} {
	done := make(chan struct{})

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					l.sendBatch(source)
				}
			}
		}()
	}

	go func() {
		wg.Wait()
		close(done)
	}()

	return done
}

func (l *load) acceptedIDs() []uuid.UUID {
	l.mu.Lock()
	defer l.mu.Unlock()

	return append([]uuid.UUID(nil), l.accepted...)
}

func (l *load) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()

	return fmt.Sprintf("accepted %d events, statuses %v", len(l.accepted), l.statuses)
}

func (l *load) statusCount(status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.statuses[status]
}
