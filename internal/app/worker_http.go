package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/eventpulse/eventpulse/handlers"
	"github.com/eventpulse/eventpulse/internal/auth"
)

// NewWorkerHandler returns the HTTP handler of a worker process that runs
// without the API: GET /healthz for container health checks and GET
// /metrics for Prometheus. The worker counts its commands, projectors and
// notification deliveries in deps.Metrics, which no API process serves.
// /metrics takes API keys as the API's /metrics does: a key with the read
// scope once a key has been created, revoked or not, and before that only
// loopback clients.
func NewWorkerHandler(deps *Deps) http.Handler {
	guard := handlers.NewGuard(auth.NewAuthenticator(deps.Pool), deps.Logger)

	router := chi.NewRouter()
	router.Use(middleware.Recoverer)
	router.Use(handlers.HeadAsGet)
	router.NotFound(handlers.NotFound)
	router.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		handlers.MethodNotAllowed(w, r, http.MethodGet)
	})
	router.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	router.With(guard.Require(auth.ScopeRead)).Get("/metrics", deps.Metrics.Handler().ServeHTTP)

	return router
}

// ServeWorkerHTTP serves handler on listener until ctx ends, then finishes
// the requests in flight within the shutdown timeout.
func ServeWorkerHTTP(ctx context.Context, deps *Deps, handler http.Handler, listener net.Listener) error {
	server := newHTTPServer(ctx, deps, handler)

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	deps.Logger.InfoContext(ctx, "worker: serving /healthz and /metrics", slog.String("addr", listener.Addr().String()))

	select {
	case err := <-serveErr:
		return fmt.Errorf("error serving the worker's HTTP: %w", err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), deps.Config.ShutdownTimeout)
	defer cancel()

	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("error stopping the worker's HTTP: %w", err)
	}

	return nil
}

// newHTTPServer returns a server of handler with the timeouts of
// deps.Config. Requests get a context that outlives ctx, so the ones in
// flight at shutdown finish.
func newHTTPServer(ctx context.Context, deps *Deps, handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: deps.Config.HTTPReadHeaderTimeout,
		ReadTimeout:       deps.Config.HTTPReadTimeout,
		WriteTimeout:      deps.Config.HTTPWriteTimeout,
		IdleTimeout:       deps.Config.HTTPIdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}
