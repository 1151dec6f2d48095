package handlers

import (
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
	rewriting := rewriteQuery(next, timestampParams, func(value string) (string, bool) {
		upper := ingest.UpperTimestampSeparators(value)
		return upper, upper != value
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			query := r.URL.Query()
			for _, name := range timestampParams {
				for _, value := range query[name] {
					if !ingest.StrictRFC3339(value) {
						writeJSON(w, http.StatusBadRequest, &oas.Error{Error: paramMessages[name]})
						return
					}
				}
			}
		}

		rewriting.ServeHTTP(w, r)
	})
}

// rewriteQuery serves r with each value of params passed through rewrite,
// which returns the new value and whether it differs. Only when a value
// changed does next get a copy of r with the new query.
func rewriteQuery(next http.Handler, params []string, rewrite func(string) (string, bool)) http.Handler {
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
				if rewritten, ok := rewrite(value); ok {
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
