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
	"github.com/eventpulse/eventpulse/internal/deadletter"
	"github.com/eventpulse/eventpulse/internal/eventlog"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/notify"
	"github.com/eventpulse/eventpulse/internal/projection"
	"github.com/eventpulse/eventpulse/projections/notifier"
)

// Worker runs the command handlers and the projectors.
type Worker struct {
	deps      *Deps
	router    *message.Router
	deliverer *notify.Deliverer
	waker     *eventlog.Waker
}

// NewWorker builds the worker's router over deps.
func NewWorker(deps *Deps) (*Worker, error) {
	watermillLogger := logging.Watermill(deps.Logger)

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: deps.Config.ShutdownTimeout}, watermillLogger)
	if err != nil {
		return nil, fmt.Errorf("error creating worker router: %w", err)
	}

	if err := addFailureHandling(router, deps); err != nil {
		return nil, err
	}

	processor, err := bus.NewCommandProcessor(router, bus.Config{
		Client:        deps.Redis,
		StreamPrefix:  deps.Config.StreamPrefix,
		Consumer:      deps.Config.ConsumerName,
		ClaimIdle:     deps.Config.ClaimIdle,
		MaxDeliveries: int64(deps.Config.MaxDeliveries),
		DeadLetter:    storeDeadLetter(deps),
		Logger:        watermillLogger,
		SlogLogger:    deps.Logger,
		Metrics:       deps.Metrics,
		Lanes:         map[string]int{commands.IngestEventsHandlerName: deps.Config.IngestLanes},
	})
	if err != nil {
		return nil, err
	}

	commandHandlers, err := newCommandHandlers(deps)
	if err != nil {
		return nil, err
	}

	if err := processor.AddHandlers(commandHandlers...); err != nil {
		return nil, fmt.Errorf("error adding command handlers: %w", err)
	}

	notifyConfig, err := notify.LoadConfig(deps.Config.NotifyConfigPath)
	if err != nil {
		return nil, err
	}

	senders, err := notify.NewSenders(notifyConfig)
	if err != nil {
		return nil, err
	}

	projectors := append(Projectors(deps.Logger, deps.Metrics), notifier.Projector{Channels: notifyConfig.Channels})

	decoded := projection.NewDecoded(0)
	waker := eventlog.NewWaker(deps.Pool.Config().ConnConfig, deps.Logger)
	for _, projector := range projectors {
		err := projection.Register(router, deps.Pool, projector, deps.Logger, watermillLogger,
			projection.WithMetrics(deps.Metrics), projection.WithDecoded(decoded), projection.WithWaker(waker))
		if err != nil {
			return nil, err
		}
	}

	deliverer := notify.NewDeliverer(deps.Pool, notifyConfig, senders, deps.Logger)
	deliverer.Metrics = deps.Metrics
	channels := make([]string, 0, len(notifyConfig.Channels))
	for _, channel := range notifyConfig.Channels {
		channels = append(channels, channel.Name)
	}
	deps.Metrics.InitDeliveries(channels, notify.AttemptOutcomes)

	return &Worker{deps: deps, router: router, deliverer: deliverer, waker: waker}, nil
}

// newCommandHandlers returns the handlers that commandHandlerNames lists.
func newCommandHandlers(deps *Deps) ([]cqrs.CommandHandler, error) {
	replies, err := bus.NewReplyBackend[commands.RuleResult](bus.Config{
		Client:       deps.Redis,
		StreamPrefix: deps.Config.StreamPrefix,
		Logger:       logging.Watermill(deps.Logger),
	})
	if err != nil {
		return nil, err
	}

	ingest := commands.NewIngestEventsHandler(deps.Pool, deps.Logger)
	ingest.Handled = deps.Metrics.CountIngestHandled
	create := commands.NewCreateRuleHandler(deps.Pool, deps.Logger)
	replace := commands.NewReplaceRuleHandler(deps.Pool, deps.Logger)
	patch := commands.NewPatchRuleHandler(deps.Pool, deps.Logger)
	remove := commands.NewDeleteRuleHandler(deps.Pool, deps.Logger)

	return []cqrs.CommandHandler{
		cqrs.NewCommandHandler(commands.IngestEventsHandlerName, ingest.Handle),
		bus.NewReplyingHandler(commands.CreateRuleHandlerName, replies, create.Handle),
		bus.NewReplyingHandler(commands.ReplaceRuleHandlerName, replies, replace.Handle),
		bus.NewReplyingHandler(commands.PatchRuleHandlerName, replies, patch.Handle),
		bus.NewReplyingHandler(commands.DeleteRuleHandlerName, replies, remove.Handle),
	}, nil
}

// Run handles commands and projects the log until ctx ends, then lets the
// handlers in flight finish within the shutdown timeout.
func (w *Worker) Run(ctx context.Context) error {
	if err := eventlog.CheckPositions(ctx, w.deps.Pool); err != nil {
		return err
	}

	w.deps.Logger.InfoContext(ctx, "worker: starting", slog.String("consumer", w.deps.Config.ConsumerName))

	streams := []string{bus.CommandStream(w.deps.Config.StreamPrefix, commands.IngestEventsHandlerName)}
	defer runAlongside(ctx, func(ctx context.Context) {
		bus.Heartbeat(ctx, w.deps.Redis, w.deps.Config.StreamPrefix, w.deps.Config.ConsumerName, w.deps.Logger)
	})()
	defer runAlongside(ctx, w.waker.Run)()
	defer runAlongside(ctx, func(ctx context.Context) {
		bus.RunTrimmer(ctx, w.deps.Redis, streams, w.deps.Config.TrimInterval, w.deps.Logger)
	})()
	defer runAlongside(ctx, w.deliverer.Run)()

	if err := w.router.Run(ctx); err != nil {
		return fmt.Errorf("error running worker: %w", err)
	}

	w.deps.Logger.Info("worker: stopped")

	return nil
}

// runAlongside runs run in a goroutine with a context derived from ctx and
// returns a function that cancels that context and waits for run to return.
func runAlongside(ctx context.Context, run func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})

	go func() {
		defer close(done)
		run(ctx)
	}()

	return func() {
		cancel()
		<-done
	}
}

// addFailureHandling adds three middlewares, outermost first. The poison
// queue stores a message whose handling failed for good in the dead-letter
// store and acknowledges it. RejectInvalid fails a command that is not a
// readable message of its stream. Retry retries with exponential backoff.
// A message that failed only because PostgreSQL or Redis is down is not
// stored but delivered again.
func addFailureHandling(router *message.Router, deps *Deps) error {
	poison, err := middleware.PoisonQueueWithFilter(deadletter.NewPublisher(deps.Pool, deps.Logger), deadletter.Topic, deadletter.ShouldBury)
	if err != nil {
		return fmt.Errorf("error creating poison queue: %w", err)
	}

	router.AddMiddleware(
		poison,
		bus.RejectInvalid(deps.Config.StreamPrefix),
		middleware.Retry{
			MaxRetries:      5,
			InitialInterval: 100 * time.Millisecond,
			MaxInterval:     5 * time.Second,
			Multiplier:      2,
			Logger:          logging.Watermill(deps.Logger),
		}.Middleware,
	)

	return nil
}

func storeDeadLetter(deps *Deps) func(context.Context, deadletter.Letter) error {
	return func(ctx context.Context, letter deadletter.Letter) error {
		added, err := deadletter.Insert(ctx, deps.Pool, letter)
		if added {
			deadletter.LogStored(ctx, deps.Logger, letter)
		}

		return err
	}
}

// Running is closed once every handler has started.
func (w *Worker) Running() <-chan struct{} { return w.router.Running() }
