package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

// TestRuleIfMatchLists changes a rule with If-Match lists: a list passes
// when one of its strong tags is the current version, and a weak tag never
// matches.
func TestRuleIfMatchLists(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("if-match lists"))
	id := rule.Response.RuleID.String()
	url := a.URL + "/api/v1/rules/" + id

	patch := func(ifMatch, severity string) (int, string) {
		return sendRequest(t, http.MethodPatch, url, fmt.Sprintf(`{"severity":%q}`, severity), http.Header{
			"Content-Type": {"application/merge-patch+json"}, "If-Match": {ifMatch},
		})
	}

	status, body := patch(`"7", "1"`, "critical")
	require.Equal(t, http.StatusOK, status, "body: %s", body)
	var changed struct {
		Version  int    `json:"version"`
		Severity string `json:"severity"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &changed))
	require.Equal(t, 2, changed.Version)
	require.Equal(t, "critical", changed.Severity)

	status, body = patch(`"3", "4"`, "info")
	require.Equal(t, http.StatusPreconditionFailed, status)
	require.JSONEq(t, fmt.Sprintf(`{"error":"rule %s is at version 2, not one of 3, 4; read the rule again and retry with its ETag"}`, id), body)

	status, body = patch(`W/"2"`, "info")
	require.Equal(t, http.StatusPreconditionFailed, status)
	require.JSONEq(t, `{"error":"If-Match \"W/\\\"2\\\"\" names no rule version: a rule's ETag is its version in quotes, such as \"3\", and a weak tag (W/) never matches; read the rule again and retry with its ETag"}`, body)

	status, body = patch(`*, "2"`, "info")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `If-Match must be * or rule versions in quotes`)

	status, body = sendRequest(t, http.MethodDelete, url, "", http.Header{"If-Match": {`W/"2", "2"`}})
	require.Equal(t, http.StatusNoContent, status, "the strong tag matches: %s", body)
}
