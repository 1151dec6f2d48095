package ingest

import (
	"fmt"
	"strings"
)

// Issue codes.
const (
	CodeInvalidJSON   = "invalid_json"
	CodeInvalidType   = "invalid_type"
	CodeRequired      = "required"
	CodeTooSmall      = "too_small"
	CodeTooBig        = "too_big"
	CodeInvalidString = "invalid_string"
	CodeInvalidValue  = "invalid_value"
	CodeDuplicate     = "duplicate"
	// CodeInvalidEncoding marks a body that does not decode with its
	// Content-Encoding, such as a corrupt gzip stream.
	CodeInvalidEncoding = "invalid_encoding"
)

// Issue is one reason a request body is invalid.
type Issue struct {
	// Path holds field names (string) and array indexes (int) leading to the
	// failing value; it is empty for a problem with the whole body.
	Path    []any
	Message string
	Code    string
}

// ValidationError lists every issue found in a request body.
type ValidationError struct {
	Issues []Issue
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Issues))
	for _, issue := range e.Issues {
		parts = append(parts, fmt.Sprintf("%s: %s", formatPath(issue.Path), issue.Message))
	}

	return "validation failed: " + strings.Join(parts, "; ")
}

func formatPath(path []any) string {
	if len(path) == 0 {
		return "body"
	}

	parts := make([]string, 0, len(path))
	for _, element := range path {
		parts = append(parts, fmt.Sprint(element))
	}

	return strings.Join(parts, ".")
}

// appendPath returns a new slice: path followed by elements.
func appendPath(path []any, elements ...any) []any {
	out := make([]any, 0, len(path)+len(elements))
	out = append(out, path...)

	return append(out, elements...)
}
