package telemetry

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventpulse/eventpulse/internal/deadletter"
)

// CommandStream is a command handler and the Redis stream it reads.
type CommandStream = deadletter.CommandStream

// RegisterCommandDeadLetters adds a gauge, read from PostgreSQL at each
// scrape, of the commands waiting in the dead-letter store per handler and
// stream. Every handler and stream of known has a series, 0 until a letter
// is stored, and so does any other pair with a letter in the store. Every
// process reads the same table, so each reports the same figure.
func (m *Metrics) RegisterCommandDeadLetters(pool *pgxpool.Pool, logger *slog.Logger, known []CommandStream) {
	m.Registry.MustRegister(&queryGauge{
		desc: prometheus.NewDesc(
			"eventpulse_command_dead_letters",
			"Commands stored as dead letters and not requeued yet, by handler and stream. "+
				"A handler and stream that had letters stays at 0 once every one was requeued.",
			[]string{"handler", "stream"}, nil),
		what:   "command dead letters",
		logger: logger,
		read: func(ctx context.Context) ([]gaugeValue, error) {
			counts, err := deadletter.CountStreamsWaiting(ctx, pool, known)
			if err != nil {
				return nil, err
			}

			values := make([]gaugeValue, 0, len(counts))
			for _, count := range counts {
				values = append(values, gaugeValue{float64(count.Waiting), []string{count.Handler, count.Stream}})
			}

			return values, nil
		},
	})
}
