package app

import (
	"log/slog"

	"github.com/eventpulse/eventpulse/internal/detect"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/internal/telemetry"
	"github.com/eventpulse/eventpulse/projections/anomalies"
	"github.com/eventpulse/eventpulse/projections/apikeys"
	"github.com/eventpulse/eventpulse/projections/detector"
	"github.com/eventpulse/eventpulse/projections/eventstable"
	"github.com/eventpulse/eventpulse/projections/metricrollups"
	"github.com/eventpulse/eventpulse/projections/notifier"
	"github.com/eventpulse/eventpulse/projections/rules"
)

// Projectors returns the projectors that `eventpulse replay` and the
// projections API know: every projector of the worker except the
// notifier, whose effects leave the system and are never replayed. Each
// call returns a new detector, which keeps its windows in memory and counts
// late events in metrics (which may be nil).
func Projectors(logger *slog.Logger, metrics *telemetry.Metrics) []projection.Projector {
	detecting := detector.New(detect.Config{}, logger)
	detecting.Metrics = metrics

	return []projection.Projector{
		eventstable.Projector{},
		apikeys.Projector{},
		rules.Projector{},
		anomalies.Projector{},
		metricrollups.Projector{},
		detecting,
	}
}

// Catalog returns Projectors and the notifier by projection name. The
// notifier is listed so that a request to replay it is rejected as not
// replayable rather than as unknown.
func Catalog(logger *slog.Logger) projection.Catalog {
	return projection.NewCatalog(append(Projectors(logger, nil), notifier.Projector{})...)
}
