package handlers

import (
	"bytes"
	"io"
	"net/http"

	"github.com/go-faster/jx"

	"github.com/eventpulse/eventpulse/internal/ingest"
)

// backtestPath is the route whose body UpperCaseBacktestTimestamps
// rewrites.
const backtestPath = "/api/v1/rules/backtest"

// UpperCaseBacktestTimestamps is chi middleware for the routes of the
// generated server. In the body of POST /api/v1/rules/backtest, it writes
// the top-level "from" and "to" strings with a lowercase "t" separator or
// "z" zone in upper case, as UpperCaseTimestampQuery does for query
// parameters. The other members keep their bytes, so the checks of the raw
// body (see rawBodyIssues) see what the client sent. A body that is not a
// JSON object is passed on unchanged, for the generated decoder to reject.
func UpperCaseBacktestTimestamps(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != backtestPath || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}

		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			// The generated decoder reports the error, such as a body over
			// the size limit, when it reads the rest.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errorReader{err}))
			next.ServeHTTP(w, r)
			return
		}

		if rewritten, ok := upperCaseBodyTimestamps(body); ok {
			body = rewritten
			r.ContentLength = int64(len(body))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		next.ServeHTTP(w, r)
	})
}

// errorReader returns err from every Read.
type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }

// upperCaseBodyTimestamps returns body, a JSON object, with its top-level
// "from" and "to" strings passed through ingest.UpperTimestampSeparators,
// or emptied when they break ingest.StrictRFC3339, and whether it changed
// anything.
func upperCaseBodyTimestamps(body []byte) ([]byte, bool) {
	var out jx.Encoder
	changed := false
	out.ObjStart()

	err := jx.DecodeBytes(body).ObjBytes(func(d *jx.Decoder, key []byte) error {
		out.FieldStart(string(key))

		name := string(key)
		if (name == "from" || name == "to") && d.Next() == jx.String {
			value, err := d.Str()
			if err != nil {
				return err
			}

			upper := ingest.UpperTimestampSeparators(value)
			if !ingest.StrictRFC3339(upper) {
				// time.Parse would accept the value, so it is replaced by
				// one that the generated decoder rejects as not RFC 3339.
				upper = ""
			}
			changed = changed || upper != value
			out.Str(upper)

			return nil
		}

		raw, err := d.Raw()
		if err != nil {
			return err
		}
		out.Raw(raw)

		return nil
	})
	if err != nil || !changed {
		return nil, false
	}

	out.ObjEnd()

	return out.Bytes(), true
}
