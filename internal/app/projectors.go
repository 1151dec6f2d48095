package app

import (
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/projections/anomalies"
	"github.com/eventpulse/eventpulse/projections/apikeys"
	"github.com/eventpulse/eventpulse/projections/eventstable"
	"github.com/eventpulse/eventpulse/projections/metricrollups"
	"github.com/eventpulse/eventpulse/projections/rules"
)

// Projectors returns the projectors that hold no runtime state, which is
// the set that `eventpulse replay` and the projections API know. The worker
// runs these plus the detector and the notifier, which are never replayed
// into copies: the detector appends to the log and the notifier sends.
func Projectors() []projection.Projector {
	return []projection.Projector{
		eventstable.Projector{},
		apikeys.Projector{},
		rules.Projector{},
		anomalies.Projector{},
		metricrollups.Projector{},
	}
}

// Catalog returns Projectors by projection name.
func Catalog() projection.Catalog {
	return projection.NewCatalog(Projectors()...)
}
