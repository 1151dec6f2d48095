package handlers

import (
	"math"
	"net/http"
	"strconv"
	"strings"
)

// integerParams are the integer query parameters that handlers check
// against a range of their own. Handlers clamp limit and offset to theirs,
// as the earlier API did for any whole number. Out of range,
// window_seconds and bucket_seconds get a message that names the range.
var integerParams = []string{"limit", "offset", "window_seconds", "bucket_seconds"}

// SaturateIntegerQuery is middleware for the routes of the generated
// server. It rewrites an integer parameter that is a whole number too
// large for an int64 to the largest (or, when negative, the smallest)
// int64, so that the handler's range check applies to it. The generated
// parser would reject such a value as not an integer.
func SaturateIntegerQuery(next http.Handler) http.Handler {
	return rewriteQuery(next, integerParams, func(_, value string) (string, bool, error) {
		clamped, ok := clampWholeNumber(value)
		return clamped, ok, nil
	})
}

// clampWholeNumber returns the int64 bound nearest to value and true when
// value is a decimal whole number outside the int64 range, and false for
// any other value.
func clampWholeNumber(value string) (string, bool) {
	digits := strings.TrimPrefix(strings.TrimPrefix(value, "+"), "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}

	_, err := strconv.ParseInt(value, 10, 64)
	if err == nil {
		return "", false
	}

	if strings.HasPrefix(value, "-") {
		return strconv.FormatInt(math.MinInt64, 10), true
	}

	return strconv.FormatInt(math.MaxInt64, 10), true
}
