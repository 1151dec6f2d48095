package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/app"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/apikeys"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	testapp.Main(m)
}

// benchEvent is a single-event body of 252 bytes without an event_id, so
// the server assigns one.
var benchEvent = []byte(`{"event_type":"http.request","source":"bench/web-1",` +
	`"timestamp":"2026-01-02T03:04:05.123Z",` +
	`"payload":{"method":"GET","path":"/api/orders/42","status":200,"duration_ms":17,"bytes":5120},` +
	`"metadata":{"region":"eu-west-1","host":"web-1","version":"1.4.2"}}`)

// acceptAll is a handlers.Submitter that takes every batch at once, so the
// benchmarks measure the HTTP side without Redis.
type acceptAll struct{}

func (acceptAll) Submit(context.Context, []events.IngestedEvent) error { return nil }

// benchWriter is a reusable http.ResponseWriter that keeps the status and
// body of the last response.
type benchWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}

	return w.body.Write(p)
}

func (w *benchWriter) reset() {
	clear(w.header)
	w.status = 0
	w.body.Reset()
}

// setupRouter opens a migrated database and returns the API's router over
// it, with an ingest Submitter that accepts every batch at once.
func setupRouter(b *testing.B) (http.Handler, *app.Deps) {
	b.Helper()

	ctx := context.Background()
	env := testapp.Env(b)
	cfg := config.Config{
		DatabaseURL: testapp.NewDatabase(b),
		RedisURL:    "redis://" + env.RedisAddr() + "/0",
		HTTPAddr:    "127.0.0.1:0",
	}.WithDefaults()
	// The benchmarks send faster than the default rate of one key, so
	// they raise it: the limiter still runs but never rejects.
	cfg.IngestRate = 1e9

	level, err := cfg.SlogLevel()
	if err != nil {
		b.Fatal(err)
	}

	deps, err := app.Open(ctx, cfg, logging.New(io.Discard, level))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(deps.Close)

	router, release, err := app.NewRouter(deps, acceptAll{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(release)

	return router, deps
}

// createKey stores a new ingest key in the api_keys table through its
// projector and returns the key.
func createKey(b *testing.B, deps *app.Deps) string {
	b.Helper()

	ctx := context.Background()
	id, key, hash, err := auth.NewKey()
	if err != nil {
		b.Fatal(err)
	}

	created := events.APIKeyCreated{KeyID: id, Name: "bench", Scopes: []string{"ingest"}, SecretHash: hash}
	meta := projection.Meta{Envelope: events.Envelope{RecordedAt: time.Now()}}

	err = pgx.BeginFunc(ctx, deps.Pool, func(tx pgx.Tx) error {
		return apikeys.Projector{}.Apply(ctx, tx, created, meta)
	})
	if err != nil {
		b.Fatal(err)
	}

	return key
}

// BenchmarkPostEvent serves POST /api/v1/events through the API's whole
// router, middleware included, on one goroutine. "anonymous" is the case
// of a loopback client while no key exists, which is how the load
// generator of make bench runs, and "api_key" sends a bearer key.
func BenchmarkPostEvent(b *testing.B) {
	router, deps := setupRouter(b)

	b.Run("anonymous", func(b *testing.B) {
		benchmarkPostEvent(b, router, "")
	})

	key := createKey(b, deps)
	b.Run("api_key", func(b *testing.B) {
		benchmarkPostEvent(b, router, key)
	})
}

func benchmarkPostEvent(b *testing.B, router http.Handler, key string) {
	body := bytes.NewReader(benchEvent)
	request, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/api/v1/events", io.NopCloser(body))
	if err != nil {
		b.Fatal(err)
	}

	request.RemoteAddr = "127.0.0.1:50000"
	request.ContentLength = int64(len(benchEvent))
	request.Header.Set("Content-Type", "application/json")
	if key != "" {
		request.Header.Set("Authorization", "Bearer "+key)
	}

	w := &benchWriter{header: http.Header{}}
	b.SetBytes(int64(len(benchEvent)))
	b.ReportAllocs()

	for b.Loop() {
		body.Reset(benchEvent)
		w.reset()
		router.ServeHTTP(w, request)

		if w.status != http.StatusAccepted {
			b.Fatalf("status %d, body %s", w.status, w.body.String())
		}
	}
}

// BenchmarkPostEventParallel is BenchmarkPostEvent's anonymous case with
// requests served on GOMAXPROCS goroutines at once, which shows contention
// on the locks and counters that every request takes.
func BenchmarkPostEventParallel(b *testing.B) {
	router, _ := setupRouter(b)
	b.SetBytes(int64(len(benchEvent)))
	b.ReportAllocs()

	b.RunParallel(func(pb *testing.PB) {
		body := bytes.NewReader(benchEvent)
		request, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/api/v1/events", io.NopCloser(body))
		if err != nil {
			b.Error(err)
			return
		}

		request.RemoteAddr = "127.0.0.1:50000"
		request.ContentLength = int64(len(benchEvent))
		request.Header.Set("Content-Type", "application/json")
		w := &benchWriter{header: http.Header{}}

		for pb.Next() {
			body.Reset(benchEvent)
			w.reset()
			router.ServeHTTP(w, request)

			if w.status != http.StatusAccepted {
				b.Errorf("status %d, body %s", w.status, w.body.String())
				return
			}
		}
	})
}
