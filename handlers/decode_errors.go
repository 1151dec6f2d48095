package handlers

import (
	"regexp"
	"strings"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// The generated decoders report a JSON value of the wrong type as a chain
// of wrapped messages, one `decode field "name"` per level of nesting,
// ending with the byte that does not fit, for example:
//
//	decode RuleInput: callback: decode field "window_seconds": unexpected byte 34 '"' at 47
//
// These patterns read the field path and that byte back from the message.
var (
	decodeFieldPattern    = regexp.MustCompile(`decode field "([^"]*)"`)
	unexpectedBytePattern = regexp.MustCompile(`unexpected byte \d+ '(.+?)' at \d+$`)
)

// decodeError describes a request body that the generated decoder
// rejected. A value of the wrong type becomes an issue at the field's path;
// a body that is not JSON, or not an object, is named as such.
func decodeError(err error) *oas.ValidationError {
	message := err.Error()

	var path []string
	for _, match := range decodeFieldPattern.FindAllStringSubmatch(message, -1) {
		path = append(path, match[1])
	}

	got := ""
	if match := unexpectedBytePattern.FindStringSubmatch(message); match != nil {
		got = jsonKind(match[1])
	}

	switch {
	case len(path) > 0 && got != "":
		return validationFailed([]events.FieldIssue{{
			Field:   strings.Join(path, "."),
			Message: "invalid type: got " + got,
		}})
	case len(path) == 0 && got != "":
		return &oas.ValidationError{Error: "request body must be a JSON object, got " + got, Issues: []oas.Issue{}}
	default:
		return &oas.ValidationError{Error: "request body is not valid JSON: " + lastPart(message), Issues: []oas.Issue{}}
	}
}

// jsonKind names the kind of JSON value that starts with the quoted
// character the decoder reported, or returns "" when it starts none.
func jsonKind(quoted string) string {
	if quoted == "" {
		return ""
	}

	switch c := quoted[0]; {
	case c == '"' || (c == '\\' && strings.HasPrefix(quoted, `\"`)):
		return "a string"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	default:
		return ""
	}
}

// lastPart returns the innermost message of a chain of wrapped errors.
func lastPart(message string) string {
	if i := strings.LastIndex(message, ": "); i >= 0 {
		return message[i+2:]
	}

	return message
}
