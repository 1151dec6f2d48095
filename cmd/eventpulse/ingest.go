package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/eventpulse/eventpulse/internal/ingestclient"
)

func newIngestCommand() *cobra.Command {
	var opts ingestclient.Options

	cmd := &cobra.Command{
		Use:   "ingest [--url URL] FILE...",
		Short: "Send NDJSON files of events to the API in batches",
		Long: `Reads each FILE line by line (one JSON event per line) and sends the
events to POST /api/v1/events/batch, showing progress. Prints a summary with
every rejected line and exits with status 1 when any line was rejected.

Up to --concurrency files are sent at once. Each file has one request in
flight at a time: the next batch of a file is sent only after the server
accepted the previous one with 202, so the log contains each file's events in
file order and the detector does not skip bursts as late.

Lines that carry an event_id are stored once however often they are sent.
A line without one gets a new id on each send.

The URL defaults to $EVENTPULSE_URL, then http://127.0.0.1:8080. Once API
keys exist, give a key with the ingest scope in $EVENTPULSE_API_KEY.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			// The library reads 0 as the default; on the command line it
			// is a mistake, since the flags show their defaults.
			if opts.BatchSize == 0 {
				return fmt.Errorf("invalid --batch-size 0: must be from 1 to %d", ingestclient.BatchSizeMax)
			}
			if opts.Concurrency == 0 {
				return errors.New("invalid --concurrency 0: must be at least 1")
			}

			opts.Files = files
			opts.URL = cmp.Or(opts.URL, os.Getenv("EVENTPULSE_URL"), ingestclient.URLDefault)
			opts.APIKey = cmp.Or(opts.APIKey, os.Getenv("EVENTPULSE_API_KEY"))
			opts.Progress = cmd.ErrOrStderr()

			summary, err := ingestclient.Run(cmd.Context(), opts)
			summary.Write(cmd.OutOrStdout())

			if err != nil {
				return err
			}

			if !summary.OK() {
				return fmt.Errorf("%d events were rejected", summary.Rejected)
			}

			return nil
		},
	}

	cmd.Flags().StringVar(&opts.URL, "url", "", "base URL of the EventPulse API")
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", ingestclient.BatchSizeDefault, "events per request (at most 1000)")
	cmd.Flags().IntVar(&opts.Concurrency, "concurrency", ingestclient.ConcurrencyDefault,
		"files sent at once, each with one request in flight")

	return cmd
}
