package handlers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/go-faster/jx"
	"github.com/ogen-go/ogen/middleware"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/ingest"
)

type requestBodyKey struct{}

// KeepRequestBody is an ogen middleware that puts the request body, as the
// client sent it, in the handler's context. The generated decoder replaces
// a lone UTF-16 surrogate escape such as "\ud800" with U+FFFD, so only the
// raw body shows that the client sent one.
func KeepRequestBody(req middleware.Request, next middleware.Next) (middleware.Response, error) {
	if req.RawBody != nil {
		req.Context = context.WithValue(req.Context, requestBodyKey{}, req.RawBody)
	}

	return next(req)
}

// loneSurrogateIssues returns one issue per string in the request body of
// ctx that contains a \u escape of half a UTF-16 surrogate pair without the
// other half. Each issue names the string's field by its dotted path, such
// as condition.filters.source. It returns nil when the context holds no
// body, that is when KeepRequestBody did not run, or when the body is not
// valid JSON, which the generated decoder has rejected before.
func loneSurrogateIssues(ctx context.Context) []events.FieldIssue {
	body, _ := ctx.Value(requestBodyKey{}).([]byte)
	if body == nil {
		return nil
	}

	var issues []events.FieldIssue
	if err := collectLoneSurrogates(jx.DecodeBytes(body), "", &issues); err != nil {
		return nil
	}

	return issues
}

// collectLoneSurrogates walks the JSON value at d and adds an issue for
// every string with a lone surrogate escape. Object members are named by
// their decoded keys and array items by their index.
func collectLoneSurrogates(d *jx.Decoder, path string, issues *[]events.FieldIssue) error {
	switch d.Next() {
	case jx.String:
		raw, err := d.Raw()
		if err != nil {
			return err
		}

		if escape := ingest.FindLoneSurrogate(raw); escape != "" {
			*issues = append(*issues, events.FieldIssue{
				Field:   path,
				Message: fmt.Sprintf("contains the escape %s, half of a UTF-16 surrogate pair", escape),
			})
		}

		return nil
	case jx.Object:
		return d.ObjBytes(func(d *jx.Decoder, key []byte) error {
			return collectLoneSurrogates(d, joinPath(path, string(key)), issues)
		})
	case jx.Array:
		index := 0

		return d.Arr(func(d *jx.Decoder) error {
			err := collectLoneSurrogates(d, joinPath(path, strconv.Itoa(index)), issues)
			index++

			return err
		})
	default:
		return d.Skip()
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}

	return path + "." + name
}
