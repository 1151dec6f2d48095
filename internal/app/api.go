package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/handlers"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/dashboard"
	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/live"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// API is the HTTP side of EventPulse.
type API struct {
	deps          *Deps
	batchers      *actorBatchers
	backlog       *bus.Backlog
	replays       *projection.Jobs
	authenticator *auth.Authenticator
	handler       http.Handler
	hub           *live.Hub
	feed          *live.Feed
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

	backlog := bus.NewBacklog(deps.Redis, bus.CommandStream(deps.Config.StreamPrefix, commands.IngestEventsHandlerName),
		commands.IngestEventsHandlerName, int64(deps.Config.IngestMaxBacklog), 0, deps.Logger)
	deps.Metrics.WatchIngestBacklog(backlog.Waiting)

	batchers := newActorBatchers(ingest.BatcherConfig{
		Linger:    deps.Config.IngestLinger,
		Quiet:     deps.Config.IngestQuiet,
		MaxEvents: deps.Config.IngestMaxBatch,
	}, commandBus, deps.Metrics)
	authenticator := auth.NewAuthenticator(deps.Pool)

	replyBackend, err := bus.NewReplyBackend[commands.RuleResult](bus.Config{
		Client:       deps.Redis,
		StreamPrefix: deps.Config.StreamPrefix,
		Logger:       logging.Watermill(deps.Logger),
	})
	if err != nil {
		batchers.Close()
		return nil, err
	}

	rules := ruleCommandSender{bus: commandBus, backend: replyBackend}

	guard := handlers.NewGuard(authenticator, deps.Logger)
	hub := live.NewHub(deps.Pool, live.HubConfig{Keys: guard.SessionKeys(auth.ScopeRead)}, deps.Logger)

	ctx, cancel := context.WithTimeout(context.Background(), deps.Config.ShutdownTimeout)
	defer cancel()

	feed, err := live.NewFeed(ctx, deps.Pool, hub, deps.Logger)
	if err != nil {
		batchers.Close()
		return nil, err
	}

	replays := projection.NewJobs(deps.Pool, Catalog(deps.Logger), deps.Logger)

	handler, err := newRouter(deps, batchers, backlog, replays, guard, rules, hub)
	if err != nil {
		batchers.Close()
		return nil, err
	}

	return &API{
		deps:          deps,
		batchers:      batchers,
		backlog:       backlog,
		replays:       replays,
		authenticator: authenticator,
		handler:       handler,
		hub:           hub,
		feed:          feed,
	}, nil
}

// newRouter builds the chi router in front of the generated server.
// submitter receives the events of the ingest routes, and backlog, which
// may be nil, is the count GET /api/v1/events/health reports. hub should
// check its sessions' keys with guard, which authenticates the routes.
func newRouter(
	deps *Deps,
	submitter handlers.Submitter,
	backlog *bus.Backlog,
	replays *projection.Jobs,
	guard *handlers.Guard,
	rules handlers.RuleCommandSender,
	hub *live.Hub,
) (http.Handler, error) {
	publisher, err := redisstream.NewPublisher(redisstream.PublisherConfig{
		Client:     deps.Redis,
		Marshaller: redisstream.DefaultMarshallerUnmarshaller{},
	}, logging.Watermill(deps.Logger))
	if err != nil {
		return nil, fmt.Errorf("error creating Redis stream publisher: %w", err)
	}

	reads := handlers.NewAPI(handlers.APIConfig{
		Pool:             deps.Pool,
		Redis:            deps.Redis,
		Logger:           deps.Logger,
		StreamPrefix:     deps.Config.StreamPrefix,
		RuleCommands:     rules,
		RuleReplyTimeout: deps.Config.RuleReplyTimeout,
		Publisher:        publisher,
		Replays:          replays,
		Backlog:          backlog,
		CommandStreams:   commandStreams(deps.Config.StreamPrefix),
	})

	server, err := oas.NewServer(reads, guard,
		oas.WithMiddleware(guard.Middleware, handlers.RejectEmptyLists, handlers.KeepRequestBody),
		oas.WithErrorHandler(handlers.ErrorHandler(deps.Logger)),
		oas.WithNotFound(handlers.NotFound),
		oas.WithMethodNotAllowed(handlers.MethodNotAllowed),
	)
	if err != nil {
		return nil, fmt.Errorf("error creating API server: %w", err)
	}

	limiter := auth.NewIngestLimiter(deps.Config.IngestRate, deps.Config.IngestBurst)
	ingestHandlers := handlers.NewIngest(submitter, limiter, deps.Config.MaxBodyBytes, deps.Logger)
	ingestHandlers.Metrics = deps.Metrics
	ingestHandlers.Backlog = backlog

	router := chi.NewRouter()
	router.Use(middleware.Recoverer)
	router.Use(handlers.Correlate)
	router.Use(observeRequests(deps.Logger, deps.Metrics, server))
	router.Use(handlers.RejectUnsupportedMethods)
	router.Use(handlers.StatusHeaders)
	router.Use(handlers.HeadAsGet)
	router.Use(handlers.CheckQuery)
	router.Use(handlers.CheckCharset)
	router.Use(handlers.RejectTwoKeys)
	router.Use(handlers.RejectRepeatedHeaders)
	router.Use(handlers.LimitBody(deps.Config.MaxBodyBytes))
	router.Use(handlers.CORS(deps.Config.CORSOrigins))
	router.With(guard.Require(auth.ScopeIngest)).Post("/api/v1/events", ingestHandlers.PostEvent)
	router.With(guard.Require(auth.ScopeIngest)).Post("/api/v1/events/batch", ingestHandlers.PostBatch)
	// Other methods of the GET routes get 405. Handle registers every
	// method, so it comes first and the Get routes then take GET.
	for _, path := range []string{"/metrics", "/ws", "/dashboard", "/dashboard/*"} {
		router.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			handlers.MethodNotAllowed(w, r, http.MethodGet)
		})
	}
	router.With(guard.Require(auth.ScopeRead)).Get("/metrics", deps.Metrics.Handler().ServeHTTP)
	// The HTTP series come from requests, so before any request neither
	// metric would be listed. The first scrape finds the series that it
	// is itself counted in.
	deps.Metrics.InitRequest("/metrics", http.MethodGet, http.StatusOK)
	router.With(handlers.CheckOrigin(deps.Config.CORSOrigins), guard.Require(auth.ScopeRead)).Get("/ws", hub.ServeHTTP)
	dashboardHandler := http.StripPrefix("/dashboard", dashboard.Handler(http.HandlerFunc(handlers.NotFound)))
	router.Get("/dashboard", dashboardHandler.ServeHTTP)
	router.Get("/dashboard/*", dashboardHandler.ServeHTTP)
	// RejectUnsupportedMethods rejects other methods before routing, so
	// this handler only guards against a route added without them.
	router.MethodNotAllowed(handlers.MethodNotImplemented)
	operationOf := func(method, path string) (string, bool) {
		route, ok := server.FindRoute(method, path)
		return route.Name(), ok
	}
	router.With(guard.RequireKeyForSpec(operationOf), handlers.RejectContentEncoding, handlers.UpperCaseTimestampQuery, handlers.SaturateIntegerQuery,
		handlers.UpperCaseBacktestTimestamps).Handle("/*", server)

	return router, nil
}

// Handler returns the HTTP handler of the API.
func (a *API) Handler() http.Handler { return a.handler }

// Serve handles requests on listener until ctx ends, then stops accepting,
// finishes in-flight requests and sends the events they accepted.
func (a *API) Serve(ctx context.Context, listener net.Listener) error {
	if err := a.checkExposure(ctx, listener.Addr()); err != nil {
		a.batchers.Close()
		if ctx.Err() != nil {
			return nil
		}

		return err
	}

	server := newHTTPServer(ctx, a.deps, a.handler)

	// The feed runs until Serve returns, after the hub has closed, rather
	// than until ctx ends; so does the backlog count, which ingest
	// requests accepted during the shutdown still read.
	defer runAlongside(context.WithoutCancel(ctx), a.feed.Run)()
	defer runAlongside(context.WithoutCancel(ctx), a.backlog.Run)()

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	a.deps.Logger.InfoContext(ctx, "api: listening", slog.String("addr", listener.Addr().String()))

	select {
	case err := <-serveErr:
		a.batchers.Close()
		return fmt.Errorf("error serving HTTP: %w", err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.deps.Config.ShutdownTimeout)
	defer cancel()

	// WebSocket connections are hijacked, so Shutdown does not wait for
	// them; they are closed first.
	a.hub.Close()
	err := server.Shutdown(shutdownCtx)
	a.batchers.Close()
	a.replays.Close()
	a.deps.Logger.Info("api: stopped")

	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("error shutting down HTTP server: %w", err)
	}

	return nil
}

// displayAddr returns EVENTPULSE_HTTP_ADDR when addr, the listener's
// address, has its port, and addr otherwise, as for a port 0 that the
// system chose. Go reports a listener on 0.0.0.0 as [::] when it opens a
// dual-stack socket, so addr alone does not show what was configured.
func (a *API) displayAddr(addr net.Addr) string {
	_, port, err := net.SplitHostPort(a.deps.Config.HTTPAddr)
	tcpAddr, ok := addr.(*net.TCPAddr)
	if err != nil || !ok || port != strconv.Itoa(tcpAddr.Port) {
		return addr.String()
	}

	return a.deps.Config.HTTPAddr
}

// checkExposure refuses to serve a non-loopback address while no API key
// has ever been created, because until then the API serves only loopback
// clients, and those without a key. Once a key has been created, revoked
// or not, every client needs a key.
func (a *API) checkExposure(ctx context.Context, addr net.Addr) error {
	keyCreated, err := auth.KeyCreatedInLog(ctx, a.deps.Pool)
	if err != nil {
		return err
	}

	if keyCreated {
		return nil
	}

	if !handlers.IsLoopback(addr.String()) {
		return fmt.Errorf("refusing to listen on %s without API keys: create one with "+
			"`eventpulse keys create --scope admin --name NAME`, or listen on 127.0.0.1", a.displayAddr(addr))
	}

	a.deps.Logger.WarnContext(ctx, "api: no API key exists; serving loopback clients without authentication",
		slog.String("addr", addr.String()))

	return nil
}
