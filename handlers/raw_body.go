package handlers

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-faster/jx"
	"github.com/ogen-go/ogen/middleware"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/ingest"
)

type requestBodyKey struct{}

// KeepRequestBody is an ogen middleware that puts the request body, as the
// client sent it, in the handler's context, for rawBodyIssues.
func KeepRequestBody(req middleware.Request, next middleware.Next) (middleware.Response, error) {
	if req.RawBody != nil {
		req.Context = context.WithValue(req.Context, requestBodyKey{}, req.RawBody)
	}

	return next(req)
}

// rawBodyIssues returns the problems of the request body of ctx that the
// generated decoder cannot see, one issue per field, named by its dotted
// path such as condition.filters.source:
//
//   - a string with a \u escape of half a UTF-16 surrogate pair without the
//     other half, which the decoder replaces with U+FFFD;
//   - an empty string as a rule filter (condition.filters.event_type or
//     condition.filters.source), which would otherwise mean no filter, so
//     a rule meant for one event type would match every event;
//   - a string that is not valid UTF-8, which the decoder would store
//     with U+FFFD in place of the bad bytes;
//   - a member sent twice in one object, of which the decoder would keep
//     the last;
//   - a number that is not zero but too small for a float64, such as
//     1e-400, which the decoder would read as 0.
//
// It returns nil when the context holds no body, that is when
// KeepRequestBody did not run, or when the body is not valid JSON, which
// the generated decoder has rejected before.
func rawBodyIssues(ctx context.Context) []events.FieldIssue {
	body, _ := ctx.Value(requestBodyKey{}).([]byte)
	if body == nil {
		return nil
	}

	var issues []events.FieldIssue
	if err := collectRawIssues(jx.DecodeBytes(body), "", &issues); err != nil {
		return nil
	}

	return issues
}

// collectRawIssues walks the JSON value at d and adds an issue for every
// string that rawBodyIssues rejects. Object members are named by their
// decoded keys and array items by their index.
func collectRawIssues(d *jx.Decoder, path string, issues *[]events.FieldIssue) error {
	switch d.Next() {
	case jx.String:
		raw, err := d.Raw()
		if err != nil {
			return err
		}

		if !utf8.Valid(raw) {
			*issues = append(*issues, events.FieldIssue{Field: path, Message: "is not valid UTF-8"})
		}

		if escape := ingest.FindLoneSurrogate(raw); escape != "" {
			*issues = append(*issues, events.FieldIssue{
				Field:   path,
				Message: fmt.Sprintf("contains the escape %s, half of a UTF-16 surrogate pair", escape),
			})
		}

		if string(raw) == `""` && isFilterPath(path) {
			*issues = append(*issues, events.FieldIssue{
				Field:   path,
				Message: "must not be empty; leave the filter out to match every value",
			})
		}

		return nil
	case jx.Object:
		seen := map[string]bool{}

		return d.ObjBytes(func(d *jx.Decoder, key []byte) error {
			name := joinPath(path, string(key))
			if seen[string(key)] {
				*issues = append(*issues, events.FieldIssue{Field: name, Message: "is sent more than once"})
			}
			seen[string(key)] = true

			return collectRawIssues(d, name, issues)
		})
	case jx.Array:
		index := 0

		return d.Arr(func(d *jx.Decoder) error {
			err := collectRawIssues(d, joinPath(path, strconv.Itoa(index)), issues)
			index++

			return err
		})
	case jx.Number:
		raw, err := d.Raw()
		if err != nil {
			return err
		}

		if roundsToZero(raw) {
			*issues = append(*issues, events.FieldIssue{Field: path, Message: "is out of range"})
		}

		return nil
	default:
		return d.Skip()
	}
}

// roundsToZero reports whether the JSON number raw is not zero but is too
// small for a float64, which the decoder would read as 0.
func roundsToZero(raw []byte) bool {
	value, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || value != 0 {
		return false
	}

	mantissa, _, _ := bytes.Cut(bytes.ToLower(raw), []byte("e"))

	return bytes.ContainsAny(mantissa, "123456789")
}

// isFilterPath reports whether path names a rule filter: in a rule body,
// or in the rule of a backtest body.
func isFilterPath(path string) bool {
	path = strings.TrimPrefix(path, "rule.")

	return path == "condition.filters.event_type" || path == "condition.filters.source"
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}

	return path + "." + name
}
