package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// Worker runs the command handlers and the projectors.
type Worker struct {
	deps   *Deps
	router *message.Router
}

// NewWorker builds the worker's router over deps.
func NewWorker(deps *Deps) (*Worker, error) {
	watermillLogger := logging.Watermill(deps.Logger)

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: deps.Config.ShutdownTimeout}, watermillLogger)
	if err != nil {
		return nil, fmt.Errorf("error creating worker router: %w", err)
	}

	router.AddMiddleware(middleware.Retry{
		MaxRetries:      5,
		InitialInterval: 100 * time.Millisecond,
		MaxInterval:     5 * time.Second,
		Multiplier:      2,
		Logger:          watermillLogger,
	}.Middleware)

	processor, err := bus.NewCommandProcessor(router, bus.Config{
		Client:       deps.Redis,
		StreamPrefix: deps.Config.StreamPrefix,
		Consumer:     deps.Config.ConsumerName,
		Logger:       watermillLogger,
		Metrics:      deps.Metrics,
	})
	if err != nil {
		return nil, err
	}

	ingestHandler := commands.NewIngestEventsHandler(deps.Pool, deps.Logger)
	err = processor.AddHandlers(cqrs.NewCommandHandler(commands.IngestEventsHandlerName, ingestHandler.Handle))
	if err != nil {
		return nil, fmt.Errorf("error adding command handlers: %w", err)
	}

	for _, projector := range Projectors() {
		if err := projection.Register(router, deps.Pool, projector, deps.Logger, watermillLogger); err != nil {
			return nil, err
		}
	}

	return &Worker{deps: deps, router: router}, nil
}

// Run handles commands and projects the log until ctx ends, then lets the
// handlers in flight finish within the shutdown timeout.
func (w *Worker) Run(ctx context.Context) error {
	w.deps.Logger.InfoContext(ctx, "worker: starting", slog.String("consumer", w.deps.Config.ConsumerName))

	heartbeatCtx, stopHeartbeat := context.WithCancel(ctx)
	heartbeatDone := make(chan struct{})
	go func() {
		defer close(heartbeatDone)
		bus.Heartbeat(heartbeatCtx, w.deps.Redis, w.deps.Config.StreamPrefix, w.deps.Config.ConsumerName, w.deps.Logger)
	}()
	defer func() {
		stopHeartbeat()
		<-heartbeatDone
	}()

	if err := w.router.Run(ctx); err != nil {
		return fmt.Errorf("error running worker: %w", err)
	}

	w.deps.Logger.Info("worker: stopped")

	return nil
}

// Running is closed once every handler has started.
func (w *Worker) Running() <-chan struct{} { return w.router.Running() }
