package app

import (
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/projections/apikeys"
	"github.com/eventpulse/eventpulse/projections/eventstable"
)

// Projectors returns every projector the worker runs, which is also the
// set that `eventpulse replay` and the projections API know.
func Projectors() []projection.Projector {
	return []projection.Projector{eventstable.Projector{}, apikeys.Projector{}}
}

// Catalog returns Projectors by projection name.
func Catalog() projection.Catalog {
	return projection.NewCatalog(Projectors()...)
}
