package ingestclient

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
)

// errorExcerptMax is the most of a non-JSON error body quoted in a reason.
const errorExcerptMax = 200

// apiError is the body of a 400 response.
type apiError struct {
	Error  string     `json:"error"`
	Issues []apiIssue `json:"issues"`
}

// apiIssue is one validation problem. Path starts with the item's index in
// the batch, followed by field names and array indexes.
type apiIssue struct {
	Path    []json.RawMessage `json:"path"`
	Message string            `json:"message"`
	Code    string            `json:"code"`
}

// parseAPIError decodes a 400 body. A body that is not the documented JSON
// becomes an apiError with an excerpt of the body as its Error.
func parseAPIError(body []byte) apiError {
	var parsed apiError
	if err := json.Unmarshal(body, &parsed); err != nil || parsed.Error == "" && len(parsed.Issues) == 0 {
		excerpt := strings.TrimSpace(string(body))
		if len(excerpt) > errorExcerptMax {
			excerpt = excerpt[:errorExcerptMax] + "..."
		}

		return apiError{Error: cmp.Or(excerpt, "empty response body")}
	}

	return parsed
}

// reasonsByItem returns the reasons per batch index for the issues whose
// path starts with an index below batchLength. Issues without such an index
// are left out.
func (e apiError) reasonsByItem(batchLength int) map[int]string {
	reasons := make(map[int]string)
	for _, issue := range e.Issues {
		index, ok := issueIndex(issue, batchLength)
		if !ok {
			continue
		}

		reason := issue.reason()
		if previous, found := reasons[index]; found {
			reason = previous + "; " + reason
		}

		reasons[index] = reason
	}

	return reasons
}

// batchReason is the reason given to every item when a 400 names no item.
func (e apiError) batchReason() string {
	reason := "server rejected the whole batch: " + cmp.Or(e.Error, "no error message")
	for _, issue := range e.Issues {
		reason += "; " + issue.reason()
	}

	return reason
}

func issueIndex(issue apiIssue, batchLength int) (int, bool) {
	if len(issue.Path) == 0 {
		return 0, false
	}

	index, err := strconv.Atoi(string(bytes.TrimSpace(issue.Path[0])))
	if err != nil || index < 0 || index >= batchLength {
		return 0, false
	}

	return index, true
}

// reason returns the message prefixed with the field path after the item
// index, joined by dots, such as "payload.items.0: must be a string".
func (issue apiIssue) reason() string {
	message := cmp.Or(issue.Message, issue.Code, "invalid")
	if len(issue.Path) < 2 {
		return message
	}

	fields := make([]string, 0, len(issue.Path)-1)
	for _, element := range issue.Path[1:] {
		fields = append(fields, pathElement(element))
	}

	return strings.Join(fields, ".") + ": " + message
}

// pathElement returns a field name unquoted and any other element as written.
func pathElement(element json.RawMessage) string {
	var name string
	if err := json.Unmarshal(element, &name); err == nil {
		return name
	}

	return string(bytes.TrimSpace(element))
}

// ignoredField is one member of an accepted batch that the server did not
// use, as its 202 body names it.
type ignoredField struct {
	Index int    `json:"index"`
	Field string `json:"field"`
}

// parseIgnored returns the ignored members that a 202 body of the batch
// endpoint lists, or nil when it lists none or is not JSON.
func parseIgnored(body []byte) []ignoredField {
	var accepted struct {
		IgnoredFields []ignoredField `json:"ignored_fields"`
	}
	if json.Unmarshal(body, &accepted) != nil {
		return nil
	}

	return accepted.IgnoredFields
}
