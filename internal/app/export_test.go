package app

import (
	"net/http"

	"github.com/eventpulse/eventpulse/handlers"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/live"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// NewRouter builds the API's router as NewAPI does, except that the ingest
// routes hand their events to submitter instead of the command bus. The
// returned function releases what the router holds.
func NewRouter(deps *Deps, submitter handlers.Submitter) (http.Handler, func(), error) {
	replays := projection.NewJobs(deps.Pool, Catalog(deps.Logger), deps.Logger)
	guard := handlers.NewGuard(auth.NewAuthenticator(deps.Pool), deps.Logger)
	hub := live.NewHub(deps.Pool, live.HubConfig{Keys: guard.SessionKeys(auth.ScopeRead)}, deps.Logger)

	router, err := newRouter(deps, submitter, nil, replays, guard, ruleCommandSender{}, hub)
	release := func() {
		hub.Close()
		replays.Close()
	}
	if err != nil {
		release()
		return nil, nil, err
	}

	return router, release, nil
}
