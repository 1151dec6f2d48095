package handlers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/go-faster/jx"
	"github.com/ogen-go/ogen/middleware"

	"github.com/eventpulse/eventpulse/events"
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

		if escape := findLoneSurrogate(raw); escape != "" {
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

// findLoneSurrogate returns the first \uXXXX escape in raw, a JSON string
// with its quotes, that encodes half of a UTF-16 surrogate pair without
// the other half, or "" when there is none. A high half (D800 to DBFF)
// must be followed at once by the escape of a low half (DC00 to DFFF).
func findLoneSurrogate(raw []byte) string {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}

		// Any escape other than \u is two bytes long; skip its second.
		if i+1 >= len(raw) || raw[i+1] != 'u' {
			i++
			continue
		}

		unit := escapedCodeUnit(raw, i)
		switch {
		case unit >= 0xD800 && unit <= 0xDBFF:
			if next := escapedCodeUnit(raw, i+6); next >= 0xDC00 && next <= 0xDFFF {
				i += 11
				continue
			}

			return string(raw[i : i+6])
		case unit >= 0xDC00 && unit <= 0xDFFF:
			return string(raw[i : i+6])
		}

		i += 5
	}

	return ""
}

// escapedCodeUnit returns the UTF-16 code unit of the \uXXXX escape at
// raw[i:], or -1 when raw[i:] does not start with one.
func escapedCodeUnit(raw []byte, i int) int {
	if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
		return -1
	}

	unit, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
	if err != nil {
		return -1
	}

	return int(unit)
}
