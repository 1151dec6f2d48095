package handlers

import (
	"errors"
	"net/http"

	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// timestampParams are the query parameters that the spec declares as
// RFC 3339 date-times, on every operation that has them.
var timestampParams = []string{"from", "to"}

// UpperCaseTimestampQuery is chi middleware for the routes of the generated
// server. It rewrites a lowercase "t" date-time separator and a lowercase
// "z" zone in the timestamp query parameters to upper case. RFC 3339
// (section 5.6) allows both in lower case, and event timestamps accept
// them, while the generated parser, time.Parse, accepts only upper case.
// Other values are passed on unchanged, so an invalid one still gets the
// parser's error.
//
// A value that time.Parse accepts but RFC 3339 does not, with a zone offset
// of +24:00 or a comma before the fraction, gets the parameter's usual 400.
func UpperCaseTimestampQuery(next http.Handler) http.Handler {
	return rewriteQuery(next, timestampParams, func(name, value string) (string, bool, error) {
		if !ingest.StrictRFC3339(value) {
			return "", false, errors.New(paramMessages[name])
		}

		upper := ingest.UpperTimestampSeparators(value)

		return upper, upper != value, nil
	})
}

// rewriteQuery serves r with each value of params passed through rewrite,
// which returns the new value and whether it differs, or an error for a
// value that gets 400 with the error's message. Only when a value changed
// does next get a copy of r with the new query.
func rewriteQuery(next http.Handler, params []string, rewrite func(name, value string) (string, bool, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			next.ServeHTTP(w, r)
			return
		}

		query := r.URL.Query()
		changed := false

		for _, name := range params {
			values := query[name]
			for i, value := range values {
				rewritten, ok, err := rewrite(name, value)
				if err != nil {
					writeJSON(w, http.StatusBadRequest, &oas.Error{Error: err.Error()})
					return
				}

				if ok {
					values[i] = rewritten
					changed = true
				}
			}
		}

		if !changed {
			next.ServeHTTP(w, r)
			return
		}

		rewritten := r.Clone(r.Context())
		rewritten.URL.RawQuery = query.Encode()
		next.ServeHTTP(w, rewritten)
	})
}
