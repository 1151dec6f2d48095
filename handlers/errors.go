package handlers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-faster/jx"
	"github.com/ogen-go/ogen/ogenerrors"
	"github.com/ogen-go/ogen/validate"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/deadletter"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// HTTPError is an error with the status and message the client receives.
type HTTPError struct {
	Status  int
	Message string
}

func (e *HTTPError) Error() string { return e.Message }

// Errorf returns an *HTTPError with status and a formatted message.
func Errorf(status int, format string, args ...any) *HTTPError {
	return &HTTPError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// newError maps an error returned by a read handler to the spec's error
// body. Errors that are not *HTTPError are logged and hidden behind a 500.
func newError(ctx context.Context, logger *slog.Logger, err error) *oas.ErrorStatusCode {
	var httpErr *HTTPError
	if errors.As(err, &httpErr) {
		return &oas.ErrorStatusCode{StatusCode: httpErr.Status, Response: oas.Error{Error: httpErr.Message}}
	}

	if deadletter.IsTransient(err) {
		logger.WarnContext(ctx, "api: dependency unavailable, responding 503", slog.Any("error", err))

		return &oas.ErrorStatusCode{
			StatusCode: http.StatusServiceUnavailable,
			Response:   oas.Error{Error: "the database is unavailable, retry later"},
		}
	}

	if errors.Is(err, context.Canceled) {
		return &oas.ErrorStatusCode{StatusCode: 499, Response: oas.Error{Error: "request cancelled"}}
	}

	logger.ErrorContext(ctx, "api: request failed", slog.Any("error", err))

	return &oas.ErrorStatusCode{
		StatusCode: http.StatusInternalServerError,
		Response:   oas.Error{Error: "internal error"},
	}
}

// paramMessages are the messages existing clients expect for parameters
// that do not parse.
var paramMessages = map[string]string{
	"limit":    "limit must be an integer",
	"offset":   "offset must be an integer",
	"from":     "from must be a valid ISO-8601 timestamp",
	"to":       "to must be a valid ISO-8601 timestamp",
	"event_id": "event_id must be a valid UUID",
	"rule_id":  "rule_id must be a valid UUID",
	"enabled":  "enabled must be true or false",
	"id":       "id must be an integer",
	// The parameters of GET /api/v1/notifications.
	"anomaly_id":     "anomaly_id must be a valid UUID",
	"status":         "status must be one of: pending, sent, failed",
	"window_seconds": "window_seconds must be an integer",
	"bucket_seconds": "bucket_seconds must be an integer",
	"group_by":       "group_by must be one of: event_type, source",
	"name":           "name must be a projection name such as events",
}

// ErrorHandler writes the errors that ogen raises before a handler runs,
// such as a parameter that does not parse, in the spec's error shape.
func ErrorHandler(logger *slog.Logger) ogenerrors.ErrorHandler {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
		status := ogenerrors.ErrorCode(err)
		message := err.Error()

		var paramErr *ogenerrors.DecodeParamError
		var bodyErr *ogenerrors.DecodeRequestError

		switch {
		case errors.As(err, &paramErr):
			status = http.StatusBadRequest
			values := r.URL.Query()[paramErr.Name]
			switch {
			case len(values) > 1:
				message = fmt.Sprintf("%s must appear at most once in the query, got %d values", paramErr.Name, len(values))
			case paramErr.Name == "severity" && len(values) == 1:
				message = severityMessage(values[0], paramErr.Err)
			default:
				message = paramMessages[paramErr.Name]
			}
			if message == "" {
				message = fmt.Sprintf("invalid parameter %s: %v", paramErr.Name, paramErr.Err)
			}
		case errors.As(err, &bodyErr) && errors.As(err, new(*http.MaxBytesError)):
			writeJSON(w, http.StatusRequestEntityTooLarge, &oas.Error{Error: "request body is too large"})
			return
		case errors.As(err, new(*validate.InvalidContentTypeError)),
			errors.As(err, &bodyErr) && !hasMediaType(r):
			writeUnsupportedMediaType(w, r)
			return
		case errors.As(err, &bodyErr):
			writeJSON(w, http.StatusBadRequest, bodyValidationError(bodyErr.Err))
			return
		case status >= http.StatusInternalServerError:
			logger.ErrorContext(ctx, "api: request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
			message = "internal error"
		}

		writeJSON(w, status, &oas.Error{Error: message})
	}
}

// hasMediaType reports whether r has a Content-Type header that parses. The
// generated server rejects a body without one as a decoding error, which
// gets the same 415 as a wrong Content-Type here.
func hasMediaType(r *http.Request) bool {
	_, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))

	return err == nil
}

// bodyValidationError describes a request body that failed ogen's decoding
// or schema checks, naming every failing field that ogen reports.
func bodyValidationError(err error) *oas.ValidationError {
	if errors.Is(err, validate.ErrBodyRequired) {
		return &oas.ValidationError{Error: "request body is required", Issues: []oas.Issue{}}
	}

	var validateErr *validate.Error
	if !errors.As(err, &validateErr) {
		return decodeError(err)
	}

	// A required field missing in a nested object is reported by the
	// decoder of that object, inside the decode chain of its parents.
	message := err.Error()
	var parents []string
	if i := strings.Index(message, validateErr.Error()); i > 0 {
		for _, match := range decodeFieldPattern.FindAllStringSubmatch(message[:i], -1) {
			parents = append(parents, match[1])
		}
	}

	var issues []events.FieldIssue
	collectFieldErrors(&issues, strings.Join(parents, "."), validateErr)

	return validationFailed(issues)
}

func collectFieldErrors(issues *[]events.FieldIssue, prefix string, err *validate.Error) {
	for _, field := range err.Fields {
		// Array elements are named like "[0]", and the path element is the
		// index.
		name := strings.TrimSuffix(strings.TrimPrefix(field.Name, "["), "]")
		if prefix != "" {
			name = prefix + "." + name
		}

		var nested *validate.Error
		if errors.As(field.Error, &nested) {
			collectFieldErrors(issues, name, nested)
			continue
		}

		*issues = append(*issues, events.FieldIssue{Field: name, Message: validationReason(field.Error)})
	}
}

type jsonEncoder interface {
	Encode(e *jx.Encoder)
}

// encoders holds the *jx.Encoder of writeJSON between responses, so a
// response body costs no buffer growth once the pool is warm. Write copies
// the bytes, because io.Writer implementations must not retain them.
var encoders = sync.Pool{New: func() any { return new(jx.Encoder) }}

// maxPooledEncoder is the largest buffer returned to encoders, so that one
// large body does not stay in memory.
const maxPooledEncoder = 64 << 10

// jsonContentType is the Content-Type of writeJSON's responses. Every
// response shares the slice, which is safe because http.Header's methods
// replace or copy a value slice and never write into it.
var jsonContentType = []string{"application/json; charset=utf-8"}

func writeJSON(w http.ResponseWriter, status int, body jsonEncoder) {
	e := encoders.Get().(*jx.Encoder)
	e.Reset()
	body.Encode(e)

	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(e.Bytes())

	if cap(e.Bytes()) <= maxPooledEncoder {
		encoders.Put(e)
	}
}

// StatusHeaders adds the headers that some statuses call for when the
// handler set none: Retry-After on 503, so clients of any endpoint know
// when to come back, and WWW-Authenticate on 401, naming the bearer scheme
// that the API accepts.
func StatusHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&statusHeaderWriter{ResponseWriter: w}, r)
	})
}

type statusHeaderWriter struct {
	http.ResponseWriter
}

func (w *statusHeaderWriter) WriteHeader(status int) {
	header := w.Header()

	switch {
	case status == http.StatusServiceUnavailable && header.Get("Retry-After") == "":
		header.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	case status == http.StatusUnauthorized && header.Get("WWW-Authenticate") == "":
		header.Set("WWW-Authenticate", `Bearer realm="eventpulse"`)
	}

	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusHeaderWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack lets the WebSocket upgrade take over the connection; the
// WebSocket library asserts http.Hijacker instead of using Unwrap.
func (w *statusHeaderWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// writeUnsupportedMediaType answers a request whose body is not sent as
// application/json with 415, naming the Content-Type it had.
func writeUnsupportedMediaType(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusUnsupportedMediaType, &oas.Error{
		Error: "Content-Type must be application/json, got " + strconv.Quote(r.Header.Get("Content-Type")),
	})
}

// NotFound answers unknown routes in the spec's error shape.
func NotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, &oas.Error{Error: fmt.Sprintf("no route for %s %s", r.Method, requestPath(r))})
}

// requestPath returns the path as the client sent it, escapes included.
// r.URL.Path may be shorter, after http.StripPrefix, and is unescaped, so
// %2F in a segment would read as a slash.
func requestPath(r *http.Request) string {
	if r.RequestURI == "" || !strings.HasPrefix(r.RequestURI, "/") {
		return r.URL.EscapedPath()
	}

	path, _, _ := strings.Cut(r.RequestURI, "?")

	return path
}

// RejectUnsupportedMethods is chi middleware that rejects a request method
// that no route takes, TRACE and CONNECT included, with MethodNotImplemented.
func RejectUnsupportedMethods(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
			http.MethodDelete, http.MethodOptions:
			next.ServeHTTP(w, r)
		default:
			MethodNotImplemented(w, r)
		}
	})
}

// MethodNotImplemented writes a 501 for a request method that no route of
// the server supports, as RFC 9110 section 15.6.2 describes.
func MethodNotImplemented(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotImplemented, &oas.Error{
		Error: fmt.Sprintf("method %s is not supported; this server takes GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS", r.Method),
	})
}

// MethodNotAllowed answers a known route called with the wrong method.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) {
	w.Header().Set("Allow", allowed)
	writeJSON(w, http.StatusMethodNotAllowed, &oas.Error{Error: fmt.Sprintf("method %s not allowed, use %s", r.Method, allowed)})
}
