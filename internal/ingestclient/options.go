package ingestclient

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/eventpulse/eventpulse/internal/config"
)

const (
	// URLDefault is the API base URL used when Options.URL is empty. It is the
	// server's default listen address (EVENTPULSE_HTTP_ADDR).
	URLDefault = "http://127.0.0.1:8080"

	// BatchSizeDefault is the number of events per request when
	// Options.BatchSize is zero.
	BatchSizeDefault = 500

	// BatchSizeMax is the largest batch that the API accepts in one request.
	BatchSizeMax = 1000

	// ConcurrencyDefault is the number of files sent at once when
	// Options.Concurrency is zero.
	ConcurrencyDefault = 4

	// RetriesDefault is the number of times a batch is sent again after a
	// retryable failure when Options.Retries is zero.
	RetriesDefault = 10

	// MaxBodyBytesDefault is the request body limit assumed when
	// Options.MaxBodyBytes is zero: the server's default
	// EVENTPULSE_MAX_BODY_BYTES.
	MaxBodyBytesDefault = config.MaxBodyBytesDefault

	// MaxBodyBytesMin is the lowest EVENTPULSE_MAX_BODY_BYTES that the
	// server accepts.
	MaxBodyBytesMin = config.MaxBodyBytesMin

	// LineSizeMaxDefault is the longest input line accepted with the
	// default MaxBodyBytes; see Options.LineSizeMax.
	LineSizeMaxDefault = MaxBodyBytesDefault - batchBracketsBytes

	// batchBracketsBytes is what a batch body adds to its only event: the
	// "[" and "]" of the JSON array.
	batchBracketsBytes = 2
)

// StdinName is the file name that stands for the standard input.
const StdinName = "-"

// Options configures Run.
type Options struct {
	// URL is the API base URL, without the /api/v1 path. Default URLDefault.
	URL string

	// Files are the NDJSON files to send. At least one is required. The
	// name StdinName, given at most once, reads Stdin.
	Files []string

	// Stdin is read for the file named StdinName. Default os.Stdin.
	Stdin io.Reader

	// BatchSize is the number of events per request, from 1 to BatchSizeMax.
	// Default BatchSizeDefault.
	BatchSize int

	// Concurrency is the number of files sent at once. Each file has one
	// request in flight at a time, so its events reach the log in file
	// order. Default ConcurrencyDefault.
	Concurrency int

	// Progress receives progress output, normally os.Stderr. A terminal gets a
	// progress bar and any other writer a plain line at most every 2 seconds.
	// Nil discards progress.
	Progress io.Writer

	// HTTPClient sends the requests. Nil means a client with keep-alive
	// connections sized for Concurrency.
	HTTPClient *http.Client

	// APIKey, when set, is sent as "Authorization: Bearer APIKey".
	APIKey string

	// Retries is how many times a batch is sent again after a 429, 502,
	// 503 or 504 response or a network error, before Run stops with an
	// error that names the unsent lines. Default RetriesDefault; a
	// negative value turns retries off.
	Retries int

	// MaxBodyBytes is the server's request body limit,
	// EVENTPULSE_MAX_BODY_BYTES. It bounds the input lines (see
	// LineSizeMax) and the body of each batch, which ends before a line
	// that would take it past the limit. Default MaxBodyBytesDefault.
	MaxBodyBytes int64

	// StartLine is the 1-based line of the only input file at which
	// sending starts, and the lines before it are skipped. Zero means 1.
	// It continues a run that stopped, from the line that the run's
	// Summary.Unsent names.
	StartLine int

	// retry is the retry schedule. The zero value means retryPolicyDefault.
	// Tests in this package shorten it.
	retry retryPolicy
}

// LineSizeMax returns the longest input line accepted, in bytes without
// the line ending. The server has no limit per event, only MaxBodyBytes per
// body, which for a batch of one event is the line inside "[" and "]". A
// longer line is rejected locally and skipped.
func (opts Options) LineSizeMax() int64 {
	return cmp.Or(opts.MaxBodyBytes, MaxBodyBytesDefault) - batchBracketsBytes
}

// retryPolicy is the schedule for retrying 429, 502, 503 and 504 responses
// and network errors.
type retryPolicy struct {
	// attempts is the max number of retries after the first request.
	attempts int

	// backoffInitial is the delay before the first retry when the server sent
	// no Retry-After header. Each later retry doubles it up to backoffMax.
	backoffInitial time.Duration
	backoffMax     time.Duration

	// retryAfterMax caps the delay that a Retry-After header may ask for.
	retryAfterMax time.Duration
}

var retryPolicyDefault = retryPolicy{
	attempts:       RetriesDefault,
	backoffInitial: 500 * time.Millisecond,
	backoffMax:     30 * time.Second,
	retryAfterMax:  time.Minute,
}

// withDefaults returns a copy of opts with every zero field except
// HTTPClient set to its default.
func (opts Options) withDefaults() Options {
	opts.URL = cmp.Or(opts.URL, URLDefault)
	opts.BatchSize = cmp.Or(opts.BatchSize, BatchSizeDefault)
	opts.Concurrency = cmp.Or(opts.Concurrency, ConcurrencyDefault)
	opts.MaxBodyBytes = cmp.Or(opts.MaxBodyBytes, MaxBodyBytesDefault)
	opts.retry = cmp.Or(opts.retry, retryPolicyDefault)

	switch {
	case opts.Retries < 0:
		opts.retry.attempts = 0
	case opts.Retries > 0:
		opts.retry.attempts = opts.Retries
	}

	if opts.Progress == nil {
		opts.Progress = io.Discard
	}

	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}

	return opts
}

// Validate checks the options and returns every problem found, joined with
// errors.Join. A zero field is valid because it means the default.
func (opts Options) Validate() error {
	opts = opts.withDefaults()

	var errs []error

	if err := validateURL(opts.URL); err != nil {
		errs = append(errs, err)
	}

	if len(opts.Files) == 0 {
		errs = append(errs, errors.New("no input files: give at least one NDJSON file"))
	}

	for i, file := range opts.Files {
		if file == "" {
			errs = append(errs, fmt.Errorf("input file %d has an empty name", i+1))
		}
	}

	if stdin := slices.Index(opts.Files, StdinName); stdin >= 0 && slices.Index(opts.Files[stdin+1:], StdinName) >= 0 {
		errs = append(errs, fmt.Errorf("standard input (%s) is given more than once", StdinName))
	}

	if opts.BatchSize < 1 || opts.BatchSize > BatchSizeMax {
		errs = append(errs, fmt.Errorf("invalid batch size %d: must be from 1 to %d", opts.BatchSize, BatchSizeMax))
	}

	if opts.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("invalid concurrency %d: must be at least 1", opts.Concurrency))
	}

	if opts.MaxBodyBytes < MaxBodyBytesMin {
		errs = append(errs, fmt.Errorf("invalid max body size %d: must be at least %d bytes, as on the server",
			opts.MaxBodyBytes, MaxBodyBytesMin))
	}

	switch {
	case opts.StartLine < 0:
		errs = append(errs, fmt.Errorf("invalid start line %d: must be at least 1", opts.StartLine))
	case opts.StartLine > 1 && len(opts.Files) != 1:
		errs = append(errs, fmt.Errorf("invalid start line %d: it needs exactly one input file, got %d", opts.StartLine, len(opts.Files)))
	}

	return errors.Join(errs...)
}

func validateURL(raw string) error {
	parsed, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid API URL %q: %w", raw, err)
	}

	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return fmt.Errorf("invalid API URL %q: scheme must be http or https", raw)
	}

	if parsed.Host == "" {
		return fmt.Errorf("invalid API URL %q: host is missing", raw)
	}

	return nil
}
