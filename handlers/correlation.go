package handlers

import (
	"net/http"
	"unicode"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/internal/logging"
)

// CorrelationHeader carries a request's correlation id in both directions.
const CorrelationHeader = "X-Correlation-ID"

// Correlate gives each request a correlation id: the client's
// X-Correlation-ID or X-Request-ID when it is a short printable token, a
// new UUID otherwise. The id is echoed in the response, carried by the
// commands and log records the request causes, and added to every log line.
func Correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(CorrelationHeader)
		if id == "" {
			id = r.Header.Get("X-Request-ID")
		}

		if !validCorrelationID(id) {
			id = uuid.NewString()
		}

		w.Header().Set(CorrelationHeader, id)
		next.ServeHTTP(w, r.WithContext(logging.WithCorrelationID(r.Context(), id)))
	})
}

func validCorrelationID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}

	for _, r := range id {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return false
		}
	}

	return true
}
