package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/eventpulse/eventpulse/internal/app"
	"github.com/eventpulse/eventpulse/internal/config"
)

func newRunCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the API and the worker in one process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), true, true)
		},
	}
}

func newAPICommand() *cobra.Command {
	return &cobra.Command{
		Use:   "api",
		Short: "Run the HTTP API only",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), true, false)
		},
	}
}

func newWorkerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the command handlers and projectors only",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), false, true)
		},
	}
}

// loggedError is an error that a server command already wrote to its JSON
// log; main exits with status 1 without printing it again.
type loggedError struct {
	err error
}

func (e loggedError) Error() string { return e.err.Error() }

func (e loggedError) Unwrap() error { return e.err }

// serve runs the chosen halves until ctx ends (SIGINT or SIGTERM), then
// shuts both down gracefully. An error after the configuration was read,
// such as PostgreSQL or Redis refusing the first connection, is logged as
// a JSON line, as everything else the server writes.
func serve(ctx context.Context, withAPI, withWorker bool) error {
	cfg, logger, err := setup()
	if err != nil {
		return err
	}

	if err := serveWith(ctx, cfg, logger, withAPI, withWorker); err != nil {
		logger.ErrorContext(ctx, "eventpulse: stopped on an error", slog.Any("error", err))
		return loggedError{err: err}
	}

	return nil
}

func serveWith(ctx context.Context, cfg config.Config, logger *slog.Logger, withAPI, withWorker bool) error {
	deps, err := app.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer deps.Close()

	setGCDefaults(deps.Logger)

	if err := startPprof(ctx, deps.Config.PprofAddr, deps.Logger); err != nil {
		return err
	}

	group, ctx := errgroup.WithContext(ctx)

	if withWorker {
		worker, err := app.NewWorker(deps)
		if err != nil {
			return err
		}

		group.Go(func() error { return worker.Run(ctx) })
	}

	switch {
	case deps.Config.WorkerHTTPAddr == "":
	case withAPI:
		deps.Logger.InfoContext(ctx, "eventpulse: EVENTPULSE_WORKER_ADDR is not used, because the API of this process serves /healthz and /metrics",
			slog.String("worker_addr", deps.Config.WorkerHTTPAddr))
	default:
		listener, err := net.Listen("tcp", deps.Config.WorkerHTTPAddr)
		if err != nil {
			return fmt.Errorf("error listening on %q (EVENTPULSE_WORKER_ADDR): %w", deps.Config.WorkerHTTPAddr, err)
		}

		handler := app.NewWorkerHandler(deps)
		group.Go(func() error { return app.ServeWorkerHTTP(ctx, deps, handler, listener) })
	}

	if withAPI {
		api, err := app.NewAPI(deps)
		if err != nil {
			return err
		}

		listener, err := net.Listen("tcp", deps.Config.HTTPAddr)
		if err != nil {
			return fmt.Errorf("error listening on %q: %w", deps.Config.HTTPAddr, err)
		}

		group.Go(func() error { return api.Serve(ctx, listener) })
	}

	return group.Wait()
}
