package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventpulse/eventpulse/internal/deadletter"
)

// RegisterCommandDeadLetters adds a gauge, read from PostgreSQL at each
// scrape, of the commands waiting in the dead-letter store per handler and
// stream. Every process reads the same table, so each reports the same
// figure.
func (m *Metrics) RegisterCommandDeadLetters(pool *pgxpool.Pool, logger *slog.Logger) {
	m.Registry.MustRegister(&commandDeadLetterCollector{pool: pool, logger: logger, desc: prometheus.NewDesc(
		"eventpulse_command_dead_letters",
		"Commands stored as dead letters and not requeued yet, by handler and stream. "+
			"A handler and stream that had letters stays at 0 once every one was requeued.",
		[]string{"handler", "stream"}, nil)})
}

type commandDeadLetterCollector struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	desc   *prometheus.Desc
}

func (c *commandDeadLetterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *commandDeadLetterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	counts, err := deadletter.CountCommandsWaiting(ctx, c.pool)
	if err != nil {
		c.logger.Warn("telemetry: error reading command dead letters", slog.Any("error", err))
		return
	}

	for _, count := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(count.Waiting), count.Handler, count.Stream)
	}
}
