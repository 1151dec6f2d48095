package ingestclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// orderAPI accepts every batch and records, per source, the order in which
// the payload numbers arrived and the max number of requests in flight.
// The first request of each source waits until every source has a request
// in flight, so files sent one after the other fail with 500.
type orderAPI struct {
	sources int

	mu          sync.Mutex
	received    map[string][]int
	inFlight    map[string]int
	maxInFlight map[string]int
	allStarted  chan struct{}
}

type orderItem struct {
	Source  string `json:"source"`
	Payload struct {
		N int `json:"n"`
	} `json:"payload"`
}

func (api *orderAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var items []orderItem
	if err := json.NewDecoder(r.Body).Decode(&items); err != nil || len(items) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "malformed body"})

		return
	}

	source := items[0].Source
	first := api.start(source)
	defer api.finish(source)

	if first {
		select {
		case <-api.allStarted:
		case <-time.After(10 * time.Second):
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "files were not sent in parallel"})

			return
		}
	}

	// The pause widens the window in which a second request of the same
	// file could arrive.
	time.Sleep(time.Millisecond)

	api.mu.Lock()
	for _, item := range items {
		api.received[item.Source] = append(api.received[item.Source], item.Payload.N)
	}
	api.mu.Unlock()

	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted", "count": len(items)})
}

// start counts a request of source and reports whether it is the first.
func (api *orderAPI) start(source string) bool {
	api.mu.Lock()
	defer api.mu.Unlock()

	_, seen := api.maxInFlight[source]
	api.inFlight[source]++
	api.maxInFlight[source] = max(api.maxInFlight[source], api.inFlight[source])

	if !seen && len(api.maxInFlight) == api.sources {
		close(api.allStarted)
	}

	return !seen
}

func (api *orderAPI) finish(source string) {
	api.mu.Lock()
	defer api.mu.Unlock()

	api.inFlight[source]--
}

func TestRunSendsFileBatchesInOrder(t *testing.T) {
	t.Parallel()

	api := &orderAPI{
		sources:     2,
		received:    map[string][]int{},
		inFlight:    map[string]int{},
		maxInFlight: map[string]int{},
		allStarted:  make(chan struct{}),
	}
	server := httptest.NewServer(api)
	t.Cleanup(server.Close)

	bundle := &testBundle{server: server, dir: t.TempDir()}
	var expected []int
	files := map[string][]string{"a": nil, "b": nil}
	for n := range 60 {
		expected = append(expected, n)
		for source := range files {
			files[source] = append(files[source], fmt.Sprintf(`{"event_type":"e","source":%q,"payload":{"n":%d}}`, source, n))
		}
	}

	opts := bundle.options(bundle.writeFile(t, "a.ndjson", files["a"]...), bundle.writeFile(t, "b.ndjson", files["b"]...))
	opts.BatchSize = 4
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)
	require.Equal(t, 120, summary.Accepted)

	for source := range files {
		require.Equal(t, expected, api.received[source], "arrival order of file %s", source)
		require.Equal(t, 1, api.maxInFlight[source], "requests of file %s in flight at once", source)
	}
}
