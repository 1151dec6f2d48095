package handlers

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

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
	unknownFieldPattern   = regexp.MustCompile(`unexpected field "([^"]*)"`)
)

// decodeError describes a request body that the generated decoder
// rejected. A value of the wrong type or format becomes an issue at the
// field's path. A body that is not JSON, or not an object, is named as
// such.
func decodeError(err error) *oas.ValidationError {
	message := err.Error()

	// 239 is 0xEF, the first byte of a UTF-8 byte order mark.
	if strings.HasSuffix(message, "unexpected byte 239 'ï' at 0") {
		return &oas.ValidationError{
			Error:  "request body starts with a UTF-8 byte order mark (EF BB BF); send the JSON without it",
			Issues: []oas.Issue{},
		}
	}

	var path []string
	for _, match := range decodeFieldPattern.FindAllStringSubmatch(message, -1) {
		path = append(path, match[1])
	}

	got := ""
	if match := unexpectedBytePattern.FindStringSubmatch(message); match != nil {
		got = jsonKind(match[1])
	}

	// An object whose schema allows no other members reports the first
	// unknown one by name.
	if match := unknownFieldPattern.FindStringSubmatch(message); match != nil {
		return validationFailed([]events.FieldIssue{{
			Field:   strings.Join(append(path, match[1]), "."),
			Message: "is not a known field",
		}})
	}

	reason := ""
	if got != "" {
		reason = "invalid type: got " + got
	} else {
		reason = valueReason(err, message)
	}

	switch {
	case len(path) > 0 && reason != "":
		return validationFailed([]events.FieldIssue{{
			Field:   strings.Join(path, "."),
			Message: reason,
		}})
	case len(path) == 0 && got == "null":
		// The decoder reports "null" and "nope" alike, by their first byte.
		return &oas.ValidationError{Error: "request body must be a JSON object", Issues: []oas.Issue{}}
	case len(path) == 0 && got != "":
		return &oas.ValidationError{Error: "request body must be a JSON object, got " + got, Issues: []oas.Issue{}}
	default:
		return &oas.ValidationError{Error: "request body is not valid JSON: " + lastPart(message), Issues: []oas.Issue{}}
	}
}

// valueReason returns why a JSON value of the right kind does not fit its
// field, or "" when err is of no known kind. The generated decoders wrap
// time and strconv errors, so those are matched by type. The UUID parser
// and jx's integer decoder return plain errors, so those are matched by
// message.
func valueReason(err error, message string) string {
	var timeErr *time.ParseError
	var numberErr *strconv.NumError

	switch {
	case errors.As(err, &timeErr):
		return "must be an RFC 3339 timestamp"
	case errors.Is(err, strconv.ErrRange):
		return "is out of range"
	case strings.Contains(message, "unexpected floating point character"):
		return "must be an integer"
	case strings.Contains(message, "invalid UUID"):
		return "must be a UUID"
	case errors.As(err, &numberErr):
		return "must be a number"
	default:
		return ""
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
