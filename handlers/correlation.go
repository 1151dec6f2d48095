package handlers

import (
	"crypto/rand"
	"net/http"
	"unicode"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/internal/logging"
)

// CorrelationHeader carries a request's correlation id in both directions.
const CorrelationHeader = "X-Correlation-ID"

// The canonical forms of the correlation headers. Indexing http.Header
// with them skips the canonicalization that Get and Set repeat on each
// call, which allocates for names such as "X-Correlation-ID" that are not
// in canonical form.
var (
	correlationKey = http.CanonicalHeaderKey(CorrelationHeader)
	requestIDKey   = http.CanonicalHeaderKey("X-Request-ID")
)

// Correlate gives each request a correlation id: the client's
// X-Correlation-ID or X-Request-ID when it is a short printable token, a
// new UUID otherwise. The id is echoed in the response, carried by the
// commands and log records the request causes, and added to every log line.
func Correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := firstValue(r.Header, correlationKey)
		if id == "" {
			id = firstValue(r.Header, requestIDKey)
		}

		if !validCorrelationID(id) {
			id = newCorrelationID()
		}

		w.Header()[correlationKey] = []string{id}
		next.ServeHTTP(w, r.WithContext(logging.WithCorrelationID(r.Context(), id)))
	})
}

// firstValue returns the first value of the canonical header key, as
// http.Header.Get does.
func firstValue(header http.Header, key string) string {
	if values := header[key]; len(values) > 0 {
		return values[0]
	}

	return ""
}

// newCorrelationID returns a random (version 4) UUID as text. It reads the
// random bytes into the stack, where uuid.NewString reads them into a heap
// buffer first.
func newCorrelationID() string {
	var id uuid.UUID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never returns an error.
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80

	return id.String()
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
