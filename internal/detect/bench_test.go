package detect

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
)

// BenchmarkObserveInOrder measures one threshold rule over events 1ms apart
// in a 60s window, so each window holds 60,000 entries.
func BenchmarkObserveInOrder(b *testing.B) {
	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">", 1e9, 60, 60))
	batch := make([]*events.IngestedEvent, 100_000)
	for i := range batch {
		batch[i] = event(float64(i)/1000, "error", "app", "")
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e := batch[i%len(batch)]
		e.Timestamp = sec(float64(i) / 1000)
		e.ReceivedAt = e.Timestamp
		engine.Observe(e)
	}
}

// BenchmarkObserveOutOfOrder places every event up to 5s behind the newest.
func BenchmarkObserveOutOfOrder(b *testing.B) {
	engine := NewEngine(Config{})
	engine.SetRule(uuid.New(), 1, threshold(">", 1e9, 60, 60))
	e := event(0, "error", "app", "")

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.Timestamp = sec(float64(i)/1000 - float64(i%5000)/1000)
		e.ReceivedAt = e.Timestamp
		engine.Observe(e)
	}
}

// BenchmarkObserveGroupBy spreads events over 1,000 payload keys and five
// rules, two of them grouped.
func BenchmarkObserveGroupBy(b *testing.B) {
	engine := NewEngine(Config{})
	for i := range 5 {
		spec := threshold(">", 1e9, 60, 60)
		if i%2 == 0 {
			spec.Condition.GroupBy = []string{"payload.host"}
		}
		engine.SetRule(uuid.New(), 1, spec)
	}

	batch := make([]*events.IngestedEvent, 1000)
	for i := range batch {
		batch[i] = event(0, "error", "app", fmt.Sprintf(`{"host":"h%d","message":"disk full"}`, i))
	}

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := batch[i%len(batch)]
		e.Timestamp = sec(float64(i) / 1000)
		e.ReceivedAt = e.Timestamp
		engine.Observe(e)
	}
}
