package main

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/eventpulse/eventpulse/internal/app"
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

// serve runs the chosen halves until ctx ends (SIGINT or SIGTERM), then
// shuts both down gracefully.
func serve(ctx context.Context, withAPI, withWorker bool) error {
	deps, err := openDeps(ctx)
	if err != nil {
		return err
	}
	defer deps.Close()

	setGCDefaults(deps.Logger)

	if err := startPprof(ctx, deps.Logger); err != nil {
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
