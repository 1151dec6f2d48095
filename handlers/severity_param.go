package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/ogen-go/ogen/middleware"
	"github.com/ogen-go/ogen/validate"

	"github.com/eventpulse/eventpulse/events"
)

// severityMessage describes value, a severity query parameter that does
// not parse, naming the item or the value that failed. The generated
// decoder reports a bad item of a comma-separated list as a
// *validate.Error with one field "[i]" per bad item. It reports a bad
// single value as the bare enum error.
func severityMessage(value string, err error) string {
	allowed := strings.Join(events.Severities(), ", ")

	var listErr *validate.Error
	if !errors.As(err, &listErr) {
		return fmt.Sprintf("severity must be one of %s, got %q", allowed, value)
	}

	items := strings.Split(value, ",")
	for _, field := range listErr.Fields {
		index, convErr := strconv.Atoi(strings.Trim(field.Name, "[]"))
		if convErr != nil || index < 0 || index >= len(items) {
			continue
		}

		if items[index] == "" {
			return emptySeverityMessage(value)
		}

		return fmt.Sprintf("severity must be one of %s, got %q", allowed, items[index])
	}

	return emptySeverityMessage(value)
}

func emptySeverityMessage(value string) string {
	return fmt.Sprintf("severity must be a comma-separated list of %s without empty items, got %q",
		strings.Join(events.Severities(), ", "), value)
}

// RejectEmptyLists is an ogen middleware that rejects with 400 a
// comma-separated list parameter sent with an empty value, such as
// `severity=`. The generated decoder reads such a parameter as if it were
// absent, so without this check it would filter nothing.
func RejectEmptyLists(req middleware.Request, next middleware.Next) (middleware.Response, error) {
	for key, value := range req.Params {
		if key.In != "query" || !isEmptySlice(value) {
			continue
		}

		values, ok := req.Raw.URL.Query()[key.Name]
		if !ok {
			continue
		}

		if key.Name == "severity" && len(values) == 1 {
			return middleware.Response{}, Errorf(http.StatusBadRequest, "%s", emptySeverityMessage(values[0]))
		}

		return middleware.Response{}, Errorf(http.StatusBadRequest, "%s must not be empty", key.Name)
	}

	return next(req)
}

func isEmptySlice(value any) bool {
	v := reflect.ValueOf(value)

	return v.Kind() == reflect.Slice && v.Len() == 0
}
