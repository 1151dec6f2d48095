package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-faster/jx"
	"github.com/ogen-go/ogen/ogenerrors"

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
	"name":     "name must be a projection name such as events",
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
			message = paramMessages[paramErr.Name]
			if message == "" {
				message = fmt.Sprintf("invalid parameter %s: %v", paramErr.Name, paramErr.Err)
			}
		case errors.As(err, &bodyErr):
			status = http.StatusBadRequest
			message = fmt.Sprintf("invalid request body: %v", bodyErr.Err)
		case status >= http.StatusInternalServerError:
			logger.ErrorContext(ctx, "api: request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
			message = "internal error"
		}

		writeJSON(w, status, &oas.Error{Error: message})
	}
}

type jsonEncoder interface {
	Encode(e *jx.Encoder)
}

func writeJSON(w http.ResponseWriter, status int, body jsonEncoder) {
	var e jx.Encoder
	body.Encode(&e)

	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(e.Bytes())
}

// NotFound answers unknown routes in the spec's error shape.
func NotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, &oas.Error{Error: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)})
}

// MethodNotAllowed answers a known route called with the wrong method.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) {
	w.Header().Set("Allow", allowed)
	writeJSON(w, http.StatusMethodNotAllowed, &oas.Error{Error: fmt.Sprintf("method %s not allowed, use %s", r.Method, allowed)})
}
