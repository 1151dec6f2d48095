package ingest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/ingest"
)

// benchDataDir returns the directory of real events the benchmarks decode:
// EVENTPULSE_TEST_DATA, or else the shared/data directory beside the
// checkout. The benchmarks fall back to a synthetic event when it is absent.
func benchDataDir() string {
	if dir := os.Getenv("EVENTPULSE_TEST_DATA"); dir != "" {
		return dir
	}

	return filepath.Join("..", "..", "..", "shared", "data")
}

// benchEvents returns up to n event lines from the Loghub samples in
// benchDataDir, or n copies of a synthetic event of about 300 bytes.
func benchEvents(b *testing.B, n int) [][]byte {
	b.Helper()

	paths, _ := filepath.Glob(filepath.Join(benchDataDir(), "*.ndjson"))
	var lines [][]byte

	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatalf("error reading %q: %v", path, err)
		}

		for line := range bytes.Lines(data) {
			lines = append(lines, bytes.TrimSpace(line))
			if len(lines) == n {
				return lines
			}
		}
	}

	synthetic := []byte(`{"event_type":"http.request","source":"bench/web-1","timestamp":"2026-01-02T03:04:05.123Z",` +
		`"payload":{"method":"GET","path":"/api/orders/42","status":200,"duration_ms":17,"bytes":5120},` +
		`"metadata":{"region":"eu-west-1","host":"web-1","version":"1.4.2"}}`)
	for len(lines) < n {
		lines = append(lines, synthetic)
	}

	return lines
}

func BenchmarkDecodeEvent(b *testing.B) {
	lines := benchEvents(b, 2000)
	now := time.Now().UTC()
	size := 0
	for _, line := range lines {
		size += len(line)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()

	i := 0
	for b.Loop() {
		if _, _, err := ingest.DecodeEvent(lines[i%len(lines)], now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkDecodeBatch(b *testing.B) {
	lines := benchEvents(b, 500)
	body := append([]byte{'['}, bytes.Join(lines, []byte{','})...)
	body = append(body, ']')
	now := time.Now().UTC()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()

	for b.Loop() {
		batch, _, err := ingest.DecodeBatch(body, now)
		if err != nil {
			b.Fatal(err)
		}

		if len(batch) != len(lines) {
			b.Fatalf("decoded %d events, want %d", len(batch), len(lines))
		}
	}

	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBatcher submits single events from 64 goroutines to a Batcher
// whose send takes 1 ms, like an XADD on loopback, and reports the events
// per second and the mean group size.
func BenchmarkBatcher(b *testing.B) {
	var mu sync.Mutex
	var sends, sent int

	batcher := ingest.NewBatcher(ingest.BatcherConfig{}, func(_ context.Context, batch []events.IngestedEvent) error {
		time.Sleep(time.Millisecond)
		mu.Lock()
		sends++
		sent += len(batch)
		mu.Unlock()

		return nil
	})
	defer batcher.Close()

	event := []events.IngestedEvent{{EventType: "http.request", Source: "bench"}}
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := batcher.Submit(context.Background(), event); err != nil {
				b.Error(err)
				return
			}
		}
	})

	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(sent)/float64(max(sends, 1)), "events/send")
}
