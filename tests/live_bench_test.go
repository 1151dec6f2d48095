package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

// BenchmarkAnomalyToWebSocket measures the time from the commit of an
// AnomalyDetected record to its arrival on a WebSocket client of each of
// two API instances, while events are ingested at 1,000 per second. It
// reports the p50, p95 and max latency of b.N anomalies.
func BenchmarkAnomalyToWebSocket(b *testing.B) {
	a := testapp.Start(b, testapp.Options{})
	urls := []string{a.URL, a.StartAPI()}

	ctx, cancel := context.WithCancel(background())
	defer cancel()

	var load sync.WaitGroup
	load.Go(func() { ingestAtRate(ctx, a.URL, 1000) })

	type arrival struct {
		id uuid.UUID
		at time.Time
	}
	arrivals := make(chan arrival, 1024)
	var readers sync.WaitGroup
	for _, url := range urls {
		conn := dialWS(b, url, "")
		readers.Go(func() {
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					return
				}
				var message wsMessage
				if json.Unmarshal(data, &message) == nil {
					arrivals <- arrival{message.AnomalyID, time.Now()}
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)

	var latencies []time.Duration
	b.ResetTimer()
	for range b.N {
		anomaly := newAnomaly("critical")
		appendAnomaly(b, a, anomaly)
		committed := time.Now()

		for range urls {
			select {
			case got := <-arrivals:
				require.Equal(b, anomaly.AnomalyID, got.id)
				latencies = append(latencies, got.at.Sub(committed))
			case <-time.After(10 * time.Second):
				require.FailNow(b, "anomaly did not arrive within 10s")
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()

	// The readers stop before the test's cleanup closes the connections.
	cancel()
	load.Wait()
	readers.Wait()

	slices.Sort(latencies)
	percentile := func(p float64) float64 {
		return float64(latencies[int(float64(len(latencies)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(percentile(0.50), "p50_ms")
	b.ReportMetric(percentile(0.95), "p95_ms")
	b.ReportMetric(percentile(1), "max_ms")
}

// ingestAtRate posts batches of 100 events every 100ms until ctx ends.
func ingestAtRate(ctx context.Context, baseURL string, perSecond int) {
	batch := perSecond / 10
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}

		var body strings.Builder
		body.WriteString("[")
		for i := range batch {
			if i > 0 {
				body.WriteString(",")
			}
			fmt.Fprintf(&body, `{"event_type":"error","source":"web/checkout","payload":{"i":%d}}`, i)
		}
		body.WriteString("]")

		request, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v1/events/batch",
			strings.NewReader(body.String()))
		if err != nil {
			return
		}
		request.Header.Set("Content-Type", "application/json")
		if response, err := http.DefaultClient.Do(request); err == nil {
			_ = response.Body.Close()
		}
	}
}
