package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// decoderMaxDepth is the deepest nesting of objects and arrays that the JSON
// decoders read: maxDepth in go-faster/jx v1.2.0 (dec_depth.go) and
// maxNestingDepth in Go's encoding/json (scanner.go) are both 10000. A body
// nested deeper fails jx's Validate before any field is decoded.
const decoderMaxDepth = 10000

// jxDepthError is the text of the error jx returns for nesting past its
// limit (errMaxDepth in dec_depth.go).
const jxDepthError = "depth: maximum"

// nestingIssue returns the issue of a body that jx rejected with
// validateErr, when encoding/json finds it too deeply nested before any
// syntax error, and nil otherwise. Such a body is valid JSON as far as the decoders read it, so
// the issue has code too_big rather than invalid_json. batch is true for
// the body of a batch request.
//
// When the nesting that runs past the decoders' limit passes through an
// event's payload or metadata, the issue is the one checkValue reports for
// a value nested deeper than MaxDepth, with the same path. Otherwise, as
// for a member that is not an event field, the path names the member, the
// batch item or the body.
func nestingIssue(body []byte, batch bool, validateErr error) *Issue {
	// Other syntax errors skip the second parse below.
	if !strings.Contains(validateErr.Error(), jxDepthError) {
		return nil
	}

	var probe any

	var syntaxErr *json.SyntaxError
	err := json.Unmarshal(body, &probe)
	if !errors.As(err, &syntaxErr) || !strings.Contains(syntaxErr.Error(), "exceeded max depth") {
		return nil
	}

	eventDepth := 0
	if batch {
		eventDepth = 1
	}

	// Everything before the offset is valid JSON, and the nesting
	// exceeds the limit at the offset's last byte.
	path, inEventValue := nestingPath(body[:syntaxErr.Offset], eventDepth)
	if inEventValue {
		return depthIssue(path)
	}

	return &Issue{
		Path:    path,
		Message: fmt.Sprintf("nests objects and arrays deeper than %d levels, counted from the start of the body", decoderMaxDepth),
		Code:    CodeTooBig,
	}
}

// nestingFrame is an object or array that nestingPath has entered and not
// yet left.
type nestingFrame struct {
	array bool
	// index is the index of the current element of an array.
	index int
	// name is the raw name of the current member of an object, and
	// expectName is true between the opening brace or a comma and the
	// next member name.
	name       []byte
	expectName bool
}

// nestingPath walks prefix, the start of a body that is valid JSON up to
// its last byte. It returns the path of the first object or array nested
// deeper than MaxDepth inside the payload or metadata of an event, and
// true. When there is none, it returns the path of the event member, batch
// item or body that is open at the end of prefix, and false. eventDepth is
// 0 for the body of a single event and 1 for a batch.
//
// It keeps a stack rather than recursing, because prefix nests thousands of
// levels deep.
func nestingPath(prefix []byte, eventDepth int) ([]any, bool) {
	var frames []nestingFrame

	for pos := 0; pos < len(prefix); pos++ {
		switch prefix[pos] {
		case '"':
			end := stringEnd(prefix, pos)
			if top := lastFrame(frames); top != nil && top.expectName {
				top.name = prefix[pos:end]
				top.expectName = false
			}

			pos = end - 1
		case '{', '[':
			if len(frames) == eventDepth+1+MaxDepth && inEventValue(frames, eventDepth) {
				return framePath(frames), true
			}

			frames = append(frames, nestingFrame{array: prefix[pos] == '[', expectName: prefix[pos] == '{'})
		case '}', ']':
			if len(frames) > 0 {
				frames = frames[:len(frames)-1]
			}
		case ',':
			if top := lastFrame(frames); top != nil {
				top.index++
				top.expectName = !top.array
			}
		}
	}

	return framePath(frames[:memberDepth(frames, eventDepth)]), false
}

// memberDepth returns how many of frames lead to an event member: the
// arrays of a batch down to eventDepth, then the event object. It is
// fewer when a batch item or the body is not of that shape.
func memberDepth(frames []nestingFrame, eventDepth int) int {
	depth := 0
	for depth < len(frames) && depth < eventDepth && frames[depth].array {
		depth++
	}

	if depth == eventDepth && depth < len(frames) && !frames[depth].array {
		depth++
	}

	return depth
}

// inEventValue reports whether frames lead into the payload or metadata
// member of an event: through arrays down to eventDepth, then an object
// whose current member is one of the two.
func inEventValue(frames []nestingFrame, eventDepth int) bool {
	if memberDepth(frames, eventDepth) != eventDepth+1 {
		return false
	}

	name := decodeName(frames[eventDepth].name)

	return name == "payload" || name == "metadata"
}

// framePath returns the path of the value that the innermost of frames is
// at: a member name or an array index per frame.
func framePath(frames []nestingFrame) []any {
	path := make([]any, 0, len(frames))
	for _, frame := range frames {
		if frame.array {
			path = append(path, frame.index)
		} else {
			path = append(path, decodeName(frame.name))
		}
	}

	return path
}

func lastFrame(frames []nestingFrame) *nestingFrame {
	if len(frames) == 0 {
		return nil
	}

	return &frames[len(frames)-1]
}

// stringEnd returns the offset after the closing quote of the string that
// starts at data[start], or len(data) when data ends inside it.
func stringEnd(data []byte, start int) int {
	for pos := start + 1; pos < len(data); pos++ {
		switch data[pos] {
		case '\\':
			pos++
		case '"':
			return pos + 1
		}
	}

	return len(data)
}
