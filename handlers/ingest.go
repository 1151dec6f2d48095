package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/telemetry"
)

// retryAfterSeconds is sent with 503 when the command bus cannot take
// events.
const retryAfterSeconds = 1

// backlogRetryAfterSeconds is sent with 503 while too many commands wait
// for the worker. It is longer than after a Redis outage, so that clients
// let the worker work the backlog down rather than refill it at once.
const backlogRetryAfterSeconds = 5

// Submitter hands accepted events to the command bus.
type Submitter interface {
	Submit(ctx context.Context, batch []events.IngestedEvent) error
}

// Ingest serves POST /api/v1/events and POST /api/v1/events/batch.
type Ingest struct {
	// Metrics counts events by outcome; nil records nothing.
	Metrics *telemetry.Metrics
	// Backlog rejects events while too many ingest commands wait for the
	// worker. Nil accepts them.
	Backlog *bus.Backlog

	submitter    Submitter
	limiter      *auth.IngestLimiter
	maxBodyBytes int64
	logger       *slog.Logger
	now          func() time.Time
	// outage logs the first 503 of a Redis outage at Warn and the ones
	// after it at Debug, so that clients retrying during the outage do
	// not write a Warn line each.
	outage logging.Outage
}

// NewIngest returns the ingestion handlers. limiter may be nil for no
// rate limit.
func NewIngest(submitter Submitter, limiter *auth.IngestLimiter, maxBodyBytes int64, logger *slog.Logger) *Ingest {
	if submitter == nil || logger == nil {
		panic("handlers: NewIngest needs a submitter and a logger")
	}

	return &Ingest{submitter: submitter, limiter: limiter, maxBodyBytes: maxBodyBytes, logger: logger, now: time.Now}
}

// PostEvent accepts one event.
func (h *Ingest) PostEvent(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}

	event, ignored, err := ingest.DecodeEvent(body, h.now().UTC())
	if err != nil {
		h.Metrics.CountIngest("rejected", 1)
		writeValidationError(w, err)
		return
	}

	if !h.submit(w, r, []events.IngestedEvent{event}) {
		return
	}

	h.observeAccepted(start, 1)

	writeJSON(w, http.StatusAccepted, &oas.EventAccepted{
		Status:        oas.EventAcceptedStatusAccepted,
		EventID:       event.EventID,
		IgnoredFields: ignored,
	})
}

// PostBatch accepts up to ingest.MaxBatchEvents events as one command.
func (h *Ingest) PostBatch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}

	batch, ignored, err := ingest.DecodeBatch(body, h.now().UTC())
	if err != nil {
		h.Metrics.CountIngest("rejected", 1)
		writeValidationError(w, err)
		return
	}

	if !h.submit(w, r, batch) {
		return
	}

	h.observeAccepted(start, len(batch))

	accepted := &oas.BatchAccepted{
		Status: oas.BatchAcceptedStatusAccepted,
		Count:  len(batch),
	}
	for _, event := range batch {
		accepted.EventIds = append(accepted.EventIds, event.EventID)
	}

	for _, field := range ignored {
		accepted.IgnoredFields = append(accepted.IgnoredFields, oas.IgnoredField{Index: field.Index, Field: field.Field})
	}

	writeJSON(w, http.StatusAccepted, accepted)
}

// readBody reads the request body, decompressed when its
// Content-Encoding is gzip. It writes a 413 response when the body is
// larger than maxBodyBytes as sent or once decompressed.
func (h *Ingest) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if !isJSON(r.Header.Get("Content-Type")) {
		writeUnsupportedMediaType(w, r)
		return nil, false
	}

	gzipped, ok := isGzipped(w, r)
	if !ok {
		return nil, false
	}

	limited := http.MaxBytesReader(w, r.Body, h.maxBodyBytes)

	var body []byte
	var err error
	if gzipped {
		body, err = readGzip(limited, h.maxBodyBytes)
	} else {
		body, err = readAll(limited, r.ContentLength, h.maxBodyBytes)
	}
	if err != nil {
		h.writeReadError(w, err)
		return nil, false
	}

	return body, true
}

func (h *Ingest) writeReadError(w http.ResponseWriter, err error) {
	limit := strconv.FormatInt(h.maxBodyBytes, 10)

	var tooLarge *http.MaxBytesError
	var invalidGzip *invalidGzipError
	switch {
	case errors.As(err, &tooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, &oas.Error{
			Error: "request body is larger than " + limit + " bytes",
		})
	case errors.Is(err, errDecompressedTooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, &oas.Error{
			Error: "request body is larger than " + limit + " bytes once decompressed",
		})
	case errors.As(err, &invalidGzip):
		writeValidationError(w, &ingest.ValidationError{Issues: []ingest.Issue{{
			Path:    []any{},
			Message: invalidGzip.Error(),
			Code:    ingest.CodeInvalidEncoding,
		}}})
	default:
		writeJSON(w, http.StatusBadRequest, &oas.Error{Error: "error reading request body: " + err.Error()})
	}
}

// isJSON reports whether contentType names application/json, with or
// without parameters. The exact value that most clients send is matched
// without mime.ParseMediaType, which allocates a map of parameters.
func isJSON(contentType string) bool {
	if contentType == "application/json" {
		return true
	}

	mediaType, _, err := mime.ParseMediaType(contentType)

	return err == nil && mediaType == "application/json"
}

// readAll reads body to its end. When the request declares its length, as
// keep-alive clients do, the buffer is allocated once at that size, with
// one spare byte so that the read which meets the end finds room. The
// decoded events keep slices of the buffer as their payload and metadata,
// so it cannot be reused for another request.
func readAll(body io.Reader, contentLength, maxBytes int64) ([]byte, error) {
	if contentLength <= 0 || contentLength > maxBytes {
		return io.ReadAll(body)
	}

	buf := make([]byte, 0, contentLength+1)
	for {
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]

		switch {
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			return buf, err
		case len(buf) == cap(buf):
			// The body is longer than declared; net/http does not let
			// that happen, but another caller of the handler might.
			rest, err := io.ReadAll(body)
			return append(buf, rest...), err
		}
	}
}

func (h *Ingest) submit(w http.ResponseWriter, r *http.Request, batch []events.IngestedEvent) bool {
	// The backlog comes before the rate limit, so that events refused for
	// it spend none of the key's tokens.
	if h.Backlog != nil {
		if err := h.Backlog.Check(); err != nil {
			h.writeBacklogFull(w, err, len(batch))
			return false
		}
	}

	if principal, ok := auth.PrincipalFrom(r.Context()); ok {
		allowed, wait := h.limiter.Allow(principal.KeyID, len(batch))
		if !allowed {
			h.Metrics.CountIngest("rate_limited", len(batch))
			w.Header().Set("Retry-After", strconv.Itoa(auth.RetryAfterSeconds(wait)))
			writeJSON(w, http.StatusTooManyRequests, &oas.Error{
				Error: "ingest rate limit of this API key reached; retry after the Retry-After delay",
			})

			return false
		}
	}

	correlationID := logging.CorrelationID(r.Context())
	for i := range batch {
		batch[i].CorrelationID = correlationID
	}

	err := h.submitter.Submit(r.Context(), batch)
	if err == nil {
		h.outage.Recovered(r.Context(), h.logger, "ingest: command bus available again")
		return true
	}

	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		h.logger.DebugContext(r.Context(), "ingest: client went away before the command was sent",
			slog.Int("num_events", len(batch)))
		return false
	}

	h.Metrics.CountIngest("unavailable", len(batch))
	h.outage.Failed(r.Context(), h.logger, "ingest: command bus unavailable, answering 503",
		slog.Int("num_events", len(batch)), slog.Bool("nothing_sent", nothingSent(err)), slog.Any("error", err))
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	writeJSON(w, http.StatusServiceUnavailable, &oas.Error{Error: unavailableMessage(err)})

	return false
}

// writeBacklogFull writes the 503 for events rejected while the command backlog
// is over its limit. The backlog logs when it fills and when it drains, and
// a line for each request would flood the log under the load that filled it.
func (h *Ingest) writeBacklogFull(w http.ResponseWriter, err error, events int) {
	h.Metrics.CountIngest("backlog_full", events)
	w.Header().Set("Retry-After", strconv.Itoa(backlogRetryAfterSeconds))

	var full *bus.BacklogFullError
	if !errors.As(err, &full) {
		writeJSON(w, http.StatusServiceUnavailable, &oas.Error{Error: messageNothingAccepted})
		return
	}

	writeJSON(w, http.StatusServiceUnavailable, &oas.Error{Error: backlogMessage(full)})
}

func (h *Ingest) observeAccepted(start time.Time, n int) {
	if h.Metrics == nil {
		return
	}

	h.Metrics.CountIngest("accepted", n)
	h.Metrics.IngestDuration.Observe(time.Since(start).Seconds())
}

func writeValidationError(w http.ResponseWriter, err error) {
	var validationErr *ingest.ValidationError
	if !errors.As(err, &validationErr) {
		writeJSON(w, http.StatusBadRequest, &oas.Error{Error: err.Error()})
		return
	}

	body := &oas.ValidationError{Error: "Validation failed"}
	for _, issue := range validationErr.Issues {
		body.Issues = append(body.Issues, oas.Issue{
			Path:    pathElements(issue.Path),
			Message: issue.Message,
			Code:    issue.Code,
		})
	}

	writeJSON(w, http.StatusBadRequest, body)
}

func pathElements(path []any) []oas.PathElement {
	elements := make([]oas.PathElement, 0, len(path))
	for _, element := range path {
		switch v := element.(type) {
		case int:
			elements = append(elements, oas.NewIntPathElement(v))
		default:
			elements = append(elements, oas.NewStringPathElement(v.(string)))
		}
	}

	return elements
}
