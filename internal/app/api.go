package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/handlers"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/dashboard"
	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/live"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// readHeaderTimeout bounds how long a client may take to send headers.
const readHeaderTimeout = 5 * time.Second

// API is the HTTP side of EventPulse.
type API struct {
	deps    *Deps
	batcher *ingest.Batcher
	handler http.Handler
	hub     *live.Hub
	feed    *live.Feed
}

// NewAPI builds the API over deps.
func NewAPI(deps *Deps) (*API, error) {
	commandBus, err := bus.NewCommandBus(bus.Config{
		Client:       deps.Redis,
		StreamPrefix: deps.Config.StreamPrefix,
		Logger:       logging.Watermill(deps.Logger),
	})
	if err != nil {
		return nil, err
	}

	batcher := ingest.NewBatcher(ingest.BatcherConfig{
		Linger:    deps.Config.IngestLinger,
		MaxEvents: deps.Config.IngestMaxBatch,
	}, sendIngestCommand(commandBus))

	hub := live.NewHub(deps.Pool, live.HubConfig{}, deps.Logger)

	ctx, cancel := context.WithTimeout(context.Background(), deps.Config.ShutdownTimeout)
	defer cancel()

	feed, err := live.NewFeed(ctx, deps.Pool, hub, deps.Logger)
	if err != nil {
		batcher.Close()
		return nil, err
	}

	handler, err := newRouter(deps, batcher, hub)
	if err != nil {
		batcher.Close()
		return nil, err
	}

	return &API{
		deps:    deps,
		batcher: batcher,
		handler: handler,
		hub:     hub,
		feed:    feed,
	}, nil
}

func sendIngestCommand(commandBus *cqrs.CommandBus) ingest.SendFunc {
	return func(ctx context.Context, batch []events.IngestedEvent) error {
		id := uuid.NewString()

		return commandBus.Send(ctx, &commands.IngestEvents{
			CommandID:     id,
			CorrelationID: id,
			Actor:         events.ActorAnonymous,
			Events:        batch,
		})
	}
}

func newRouter(deps *Deps, batcher *ingest.Batcher, hub *live.Hub) (http.Handler, error) {
	reads := handlers.NewAPI(handlers.APIConfig{
		Pool:         deps.Pool,
		Redis:        deps.Redis,
		Logger:       deps.Logger,
		StreamPrefix: deps.Config.StreamPrefix,
	})

	server, err := oas.NewServer(reads,
		oas.WithErrorHandler(handlers.ErrorHandler(deps.Logger)),
		oas.WithNotFound(handlers.NotFound),
		oas.WithMethodNotAllowed(handlers.MethodNotAllowed),
	)
	if err != nil {
		return nil, fmt.Errorf("error creating API server: %w", err)
	}

	ingestHandlers := handlers.NewIngest(batcher, deps.Config.MaxBodyBytes, deps.Logger)

	router := chi.NewRouter()
	router.Use(middleware.Recoverer)
	router.Use(logRequests(deps.Logger))
	router.Post("/api/v1/events", ingestHandlers.PostEvent)
	router.Post("/api/v1/events/batch", ingestHandlers.PostBatch)
	router.Get("/ws", hub.ServeHTTP)
	dashboardHandler := http.StripPrefix("/dashboard", dashboard.Handler())
	router.Handle("/dashboard", dashboardHandler)
	router.Handle("/dashboard/*", dashboardHandler)
	router.Handle("/*", server)

	return router, nil
}

// Handler returns the HTTP handler of the API.
func (a *API) Handler() http.Handler { return a.handler }

// Serve answers requests on listener until ctx ends, then stops accepting,
// finishes in-flight requests and sends the events they accepted.
func (a *API) Serve(ctx context.Context, listener net.Listener) error {
	server := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	feedCtx, stopFeed := context.WithCancel(context.WithoutCancel(ctx))
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		a.feed.Run(feedCtx)
	}()
	defer func() {
		stopFeed()
		<-feedDone
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	a.deps.Logger.InfoContext(ctx, "api: listening", slog.String("addr", listener.Addr().String()))

	select {
	case err := <-serveErr:
		a.batcher.Close()
		return fmt.Errorf("error serving HTTP: %w", err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.deps.Config.ShutdownTimeout)
	defer cancel()

	// WebSocket connections are hijacked, so Shutdown does not wait for
	// them; they are closed first.
	a.hub.Close()
	err := server.Shutdown(shutdownCtx)
	a.batcher.Close()
	a.deps.Logger.Info("api: stopped")

	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("error shutting down HTTP server: %w", err)
	}

	return nil
}

// logRequests logs each request at Debug and each server error at Error.
func logRequests(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)

			level := slog.LevelDebug
			if ww.Status() >= http.StatusInternalServerError {
				level = slog.LevelError
			}

			logger.Log(r.Context(), level, "api: request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", ww.Status()),
				slog.Duration("duration", time.Since(start)))
		})
	}
}
