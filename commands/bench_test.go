package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/testenv"
)

// BenchmarkIngestEventsHandler appends commands of 500 fresh events each
// to a real, migrated PostgreSQL with fsync on, as in production.
func BenchmarkIngestEventsHandler(b *testing.B) {
	benchmarkIngestEventsHandler(b, 500)
}

// BenchmarkIngestEventsHandlerSmall appends commands of 40 events, the
// size the API's batcher forms from single-event requests, so the cost
// that every command pays weighs more than in BenchmarkIngestEventsHandler.
func BenchmarkIngestEventsHandlerSmall(b *testing.B) {
	benchmarkIngestEventsHandler(b, 40)
}

func benchmarkIngestEventsHandler(b *testing.B, perCommand int) {
	ctx := context.Background()
	env, err := testenv.Start(ctx, testenv.Options{Fsync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = env.Close() })

	if err := env.CreateDatabase(ctx, "bench", ""); err != nil {
		b.Fatal(err)
	}

	pool, err := database.Open(ctx, env.DatabaseURL("bench"), 4)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)

	migrator, err := database.NewMigrator(pool)
	if err != nil {
		b.Fatal(err)
	}
	if err := migrator.Up(ctx, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	_ = migrator.Close()

	handler := commands.NewIngestEventsHandler(pool, slog.New(slog.DiscardHandler))
	now := time.Now().UTC()
	b.ReportAllocs()

	for i := 0; b.Loop(); i++ {
		cmd := &commands.IngestEvents{CommandID: uuid.NewString(), Actor: events.ActorAnonymous}
		for j := range perCommand {
			cmd.Events = append(cmd.Events, events.IngestedEvent{
				EventID:    uuid.Must(uuid.NewV7()),
				EventType:  "http.request",
				Source:     fmt.Sprintf("bench/web-%d", j%16),
				Timestamp:  now,
				ReceivedAt: now,
				Payload:    json.RawMessage(fmt.Sprintf(`{"method":"GET","path":"/api/orders/%d","status":200,"duration_ms":%d}`, j, j%250)),
				Metadata:   json.RawMessage(`{"region":"eu-west-1","host":"web-1","version":"1.4.2"}`),
			})
		}

		if err := handler.Handle(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}

	b.ReportMetric(float64(b.N*perCommand)/b.Elapsed().Seconds(), "events/s")
}
