package ingestclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Run sends the events of opts.Files to the API and returns what happened to
// them. Lines that are rejected, locally or by the server, are listed in the
// Summary and do not make Run fail. Run returns an error only when the run
// stopped early: invalid options, a file that cannot be read, a server that
// stays unreachable after retries, an unexpected response status, or ctx being done.
// The Summary then counts the events handled before the stop.
func Run(ctx context.Context, opts Options) (Summary, error) {
	if err := opts.Validate(); err != nil {
		return Summary{}, fmt.Errorf("error validating ingest options: %w", err)
	}

	opts = opts.withDefaults()
	if opts.HTTPClient == nil {
		opts.HTTPClient = newHTTPClient(opts.Concurrency)
	}

	inputSize, err := totalSize(opts.Files)
	if err != nil {
		return Summary{}, err
	}

	// The size of the standard input is not known ahead.
	if slices.Contains(opts.Files, StdinName) {
		inputSize = -1
	}

	started := time.Now()
	counts := &tally{}
	reporter := startProgress(opts.Progress, inputSize, counts, started)

	err = ingest(ctx, opts, counts, reporter.note)

	reporter.stop()

	return counts.summary(time.Since(started)), err
}

// totalSize returns the summed size of files, which also checks that each
// one exists before anything is sent.
func totalSize(files []string) (int64, error) {
	var total int64
	for _, file := range files {
		if file == StdinName {
			continue
		}

		info, err := os.Stat(file)
		if err != nil {
			return 0, fmt.Errorf("error reading file %q: %w", file, err)
		}

		if info.IsDir() {
			return 0, fmt.Errorf("error reading file %q: is a directory", file)
		}

		total += info.Size()
	}

	return total, nil
}

// ingest sends up to opts.Concurrency files at once, each with its own
// reader and a single sender. A batch of a file is sent only after the
// server accepted the previous one, so the log contains every file's events in
// file order. The anomaly detector measures lateness against the newest
// event time it has seen, so out-of-order batches would make it skip real
// bursts as late.
//
// When one file fails, the others finish the request they have in flight
// and send nothing more, and every file left unfinished is recorded with the
// line to continue from. Requests in flight are not cancelled, because the
// server may store a cancelled request's events, and sending them again
// would store the lines without an event_id twice.
func ingest(ctx context.Context, opts Options, counts *tally, notify func(string)) error {
	var group errgroup.Group
	group.SetLimit(opts.Concurrency)

	worker := &batchWorker{
		sender: &sender{
			client:   opts.HTTPClient,
			endpoint: strings.TrimRight(opts.URL, "/") + batchPath,
			apiKey:   opts.APIKey,
			retry:    opts.retry,
			notify:   notify,
		},
		tally:        counts,
		batchSize:    opts.BatchSize,
		maxBodyBytes: opts.MaxBodyBytes,
		startLine:    max(opts.StartLine, 1),
		stdin:        opts.Stdin,
		stop:         make(chan struct{}),
	}

	for i, file := range opts.Files {
		if ctx.Err() != nil || worker.stopped() {
			counts.unsent(i, file, worker.startLine)

			continue
		}

		group.Go(func() error {
			err := worker.sendFile(ctx, i, file)
			if err != nil {
				worker.stopOnce.Do(func() { close(worker.stop) })
			}

			return err
		})
	}

	return group.Wait()
}

// batchWorker sends batches and records the outcome of each event.
type batchWorker struct {
	sender       *sender
	tally        *tally
	batchSize    int
	maxBodyBytes int64
	startLine    int
	stdin        io.Reader

	// stop is closed once a file fails. The other files then stop before
	// their next batch.
	stop     chan struct{}
	stopOnce sync.Once
}

func (w *batchWorker) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// sendFile reads one file and sends its batches one at a time, in file
// order. The next batch is read while the current one is in flight. It
// returns nil when it stopped because another file failed, and records
// an unfinished file with the line to continue from, unless the file itself
// could not be read from the start line.
func (w *batchWorker) sendFile(ctx context.Context, fileIndex int, file string) error {
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()

	batches := make(chan batch, 1)
	reader := &batchReader{
		batchSize: w.batchSize, maxBodyBytes: w.maxBodyBytes, startLine: w.startLine, out: batches, tally: w.tally,
		stdin: w.stdin,
	}

	var readErr error
	var reading sync.WaitGroup
	reading.Go(func() {
		defer close(batches)

		readErr = reader.run(readCtx, fileIndex, file)
	})

	next, err := w.drain(ctx, batches)

	// The reader may be blocked handing over its next batch, which drain
	// no longer takes after a failure.
	cancelRead()
	reading.Wait()

	if err == nil {
		err = readErr
	}

	if _, isInputError := errors.AsType[*inputError](err); err != nil && !isInputError {
		w.tally.unsent(fileIndex, file, next)
	}

	if errors.Is(err, errStopped) {
		return nil
	}

	return err
}

// errStopped ends a file's batches after another file failed.
var errStopped = errors.New("stopped because another file failed")

// drain sends the batches in order and returns the line at which the file
// continues: after the last batch that was done, or at the first event
// that was not sent.
func (w *batchWorker) drain(ctx context.Context, batches <-chan batch) (int, error) {
	next := w.startLine
	for b := range batches {
		if w.stopped() {
			return next, errStopped
		}

		if err := w.send(ctx, b.events); err != nil {
			var unsent *unsentError
			if errors.As(err, &unsent) {
				next = unsent.first.line
			}

			return next, err
		}

		w.tally.finishBatch(b.size)
		next = b.endLine + 1
	}

	return next, nil
}

// unsentError is a failure to send events, of which first is the first in
// file order.
type unsentError struct {
	first event
	err   error
}

func (e *unsentError) Error() string { return e.err.Error() }

func (e *unsentError) Unwrap() error { return e.err }

// send posts events until each one is accepted or rejected. After a 400 that
// names items, those items are rejected and the rest are sent again.
func (w *batchWorker) send(ctx context.Context, events []event) error {
	for len(events) > 0 {
		result, err := w.sender.post(ctx, events)
		if err != nil {
			return &unsentError{first: events[0], err: err}
		}

		events, err = w.handle(ctx, events, result)
		if err != nil {
			return err
		}
	}

	return nil
}

// handle records the outcome of result and returns the events to send again.
func (w *batchWorker) handle(ctx context.Context, events []event, result reply) ([]event, error) {
	switch result.status {
	case http.StatusAccepted, http.StatusOK:
		w.tally.accept(len(events))
		for _, ignored := range parseIgnored(result.body) {
			if ignored.Index >= 0 && ignored.Index < len(events) {
				w.tally.ignore(events[ignored.Index], ignored.Field)
			}
		}

		return nil, nil
	case http.StatusBadRequest:
		return w.rejectInvalid(events, parseAPIError(result.body)), nil
	case http.StatusRequestEntityTooLarge:
		return nil, w.splitTooLarge(ctx, events)
	default:
		return nil, &unsentError{first: events[0], err: &StatusError{
			Endpoint: w.sender.endpoint,
			Status:   result.status,
			Message:  parseAPIError(result.body).Error,
		}}
	}
}

// StatusError is a response status that stopped the run at once. It is
// any status but 200, 202, 400 and 413, except 429, 502, 503 and 504,
// which are retried and end the run with a different error.
type StatusError struct {
	// Endpoint is the URL that the batch was sent to.
	Endpoint string
	Status   int
	// Message is the error member of the response body, or an excerpt of
	// a body that is not the documented JSON.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("error sending batch to %q: server returned %s: %s", e.Endpoint, statusText(e.Status), e.Message)
}

// rejectInvalid rejects the items that a 400 names and returns the others.
// When the 400 names no item of the batch, every item is rejected.
func (w *batchWorker) rejectInvalid(events []event, apiErr apiError) []event {
	reasons := apiErr.reasonsByItem(len(events))
	if len(reasons) == 0 {
		reason := apiErr.batchReason()
		for _, e := range events {
			w.tally.rejectSent(e, reason)
		}

		return nil
	}

	remaining := make([]event, 0, len(events)-len(reasons))
	for i, e := range events {
		if reason, found := reasons[i]; found {
			w.tally.rejectSent(e, reason)

			continue
		}

		remaining = append(remaining, e)
	}

	return remaining
}

// splitTooLarge sends the halves of a batch that the server found too large.
// A single event that is still too large is rejected.
func (w *batchWorker) splitTooLarge(ctx context.Context, events []event) error {
	if len(events) == 1 {
		w.tally.rejectSent(events[0], "event is larger than the server's request size limit (413)")

		return nil
	}

	half := len(events) / 2
	if err := w.send(ctx, slices.Clip(events[:half])); err != nil {
		return err
	}

	return w.send(ctx, events[half:])
}
