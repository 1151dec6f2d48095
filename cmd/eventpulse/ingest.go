package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eventpulse/eventpulse/internal/ingestclient"
)

func newIngestCommand() *cobra.Command {
	var opts ingestclient.Options
	var retries int

	cmd := &cobra.Command{
		Use:   "ingest [--url URL] FILE...",
		Short: "Send NDJSON files of events to the API in batches",
		Long: `Reads each FILE line by line (one JSON event per line) and sends the
events to POST /api/v1/events/batch, showing progress. A FILE of - reads the
standard input. Prints a summary with every rejected line and exits with
status 1 when any line was rejected. The summary and the progress count the
events that the server rejected apart from the lines rejected before
sending, such as lines that are not JSON objects. Blank lines (empty or
only white space) are skipped and counted in the summary, and do not make
the command fail.

Up to --concurrency files are sent at once. Each file has one request in
flight at a time: the next batch of a file is sent only after the server
accepted the previous one with 202, so the log contains each file's events in
file order and the detector does not skip bursts as late.

Lines that carry an event_id are stored once however often they are sent.
A line without one gets a new id on each send.

A line may be up to --max-body-bytes minus 2 bytes long (8388606 bytes by
default, line ending not counted): the server accepts one event as large as
fits in a request body of EVENTPULSE_MAX_BODY_BYTES with the "[" and "]" of
the batch array around it, and sets no smaller limit per event. A longer line
is rejected without being sent. A batch ends before a line that would take
its body past --max-body-bytes. Set the flag to the server's
EVENTPULSE_MAX_BODY_BYTES when that is not the default of 8388608.

A batch answered 429, 502, 503 or 504, or lost to a network error, is sent
again up to --retries times, after the delay of the response's Retry-After
header or a growing backoff. Past that the command stops: it names that
batch's lines, lets the other files finish the request they have in flight,
and sends nothing more. The summary then gives, for each unfinished file,
the --start-line to run it again with, so that no line is sent twice. A
file that cannot be opened, or that has fewer lines than --start-line, gets
no such line, because the same command would fail again: the error names
the file. While the server pauses ingestion because too many commands wait
for its worker, it asks for 5 s between tries, so the default of 10
retries waits about 50 s.

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

			if opts.MaxBodyBytes < ingestclient.MaxBodyBytesMin {
				return fmt.Errorf("invalid --max-body-bytes %d: must be at least %d, the server's minimum",
					opts.MaxBodyBytes, ingestclient.MaxBodyBytesMin)
			}

			// The library reads a start line of 0 as the default, 1.
			if opts.StartLine < 1 {
				return fmt.Errorf("invalid --start-line %d: must be at least 1", opts.StartLine)
			}

			switch {
			case retries < 0:
				return fmt.Errorf("invalid --retries %d: must be at least 0", retries)
			case retries == 0:
				// The library reads 0 as the default and a negative
				// value as no retries.
				opts.Retries = -1
			default:
				opts.Retries = retries
			}

			opts.Files = files
			opts.URL = cmp.Or(opts.URL, os.Getenv("EVENTPULSE_URL"), ingestclient.URLDefault)
			opts.APIKey = cmp.Or(opts.APIKey, os.Getenv("EVENTPULSE_API_KEY"))
			opts.Progress = cmd.ErrOrStderr()
			opts.Stdin = cmd.InOrStdin()

			// Invalid options stop the command before a summary of nothing
			// is printed.
			if err := opts.Validate(); err != nil {
				return err
			}

			summary, err := ingestclient.Run(cmd.Context(), opts)
			summary.Write(cmd.OutOrStdout())

			if err != nil {
				return withAPIKeyHint(err, opts.APIKey != "")
			}

			if !summary.OK() {
				return rejectionError(summary)
			}

			return nil
		},
	}

	cmd.Flags().StringVar(&opts.URL, "url", "", "base URL of the EventPulse API")
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", ingestclient.BatchSizeDefault, "events per request (at most 1000)")
	cmd.Flags().IntVar(&opts.Concurrency, "concurrency", ingestclient.ConcurrencyDefault,
		"files sent at once, each with one request in flight")
	cmd.Flags().Int64Var(&opts.MaxBodyBytes, "max-body-bytes", ingestclient.MaxBodyBytesDefault,
		"the server's request body limit (EVENTPULSE_MAX_BODY_BYTES) in bytes; lines longer than this minus 2 are rejected without being sent")
	cmd.Flags().IntVar(&opts.StartLine, "start-line", 1,
		"line of FILE to start at, skipping the lines before it (one FILE only); a stopped run prints the value to continue with")
	cmd.Flags().IntVar(&retries, "retries", ingestclient.RetriesDefault,
		"times a batch is sent again after 429, 502, 503, 504 or a network error, waiting as Retry-After says (5 s while ingestion is paused for a full backlog)")

	return cmd
}

// rejectionError returns the error for a run that rejected lines. Like the
// summary, it counts the events that the server rejected apart from the
// lines rejected before sending.
func rejectionError(summary ingestclient.Summary) error {
	var parts []string

	switch n := summary.RejectedByServer(); {
	case n == 1:
		parts = append(parts, "1 event was rejected by the server")
	case n > 1:
		parts = append(parts, fmt.Sprintf("%d events were rejected by the server", n))
	}

	switch n := summary.RejectedBeforeSending(); {
	case n == 1:
		parts = append(parts, "1 line was rejected before sending")
	case n > 1:
		parts = append(parts, fmt.Sprintf("%d lines were rejected before sending", n))
	}

	return errors.New(strings.Join(parts, " and "))
}

// withAPIKeyHint returns err unchanged except for a 401. That becomes an
// error that names the fix, setting EVENTPULSE_API_KEY, in place of the
// server's advice on which header to send the key in. keySent is true when
// the requests carried a key.
func withAPIKeyHint(err error, keySent bool) error {
	var statusErr *ingestclient.StatusError
	if !errors.As(err, &statusErr) || statusErr.Status != http.StatusUnauthorized {
		return err
	}

	if !keySent {
		return fmt.Errorf("error sending batch to %q: the server requires an API key (401 Unauthorized): "+
			"set EVENTPULSE_API_KEY to a key with the ingest scope", statusErr.Endpoint)
	}

	return fmt.Errorf("error sending batch to %q: the server rejected the key in EVENTPULSE_API_KEY "+
		"with 401 Unauthorized (%s): set EVENTPULSE_API_KEY to a key with the ingest scope",
		statusErr.Endpoint, statusErr.Message)
}
