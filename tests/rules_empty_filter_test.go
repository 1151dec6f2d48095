package tests

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

// emptyFilterIssue is the validation body for one rule filter sent as "".
func emptyFilterIssue(field, path string) string {
	message := "must not be empty; leave the filter out to match every value"

	return `{"error":"Validation failed: ` + field + `: ` + message + `",` +
		`"issues":[{"path":` + path + `,"message":"` + message + `","code":"invalid"}]}`
}

// TestRulesRejectEmptyFilters sends a rule whose filter event_type or
// source is "" to every route that takes a rule. Each gets 400 naming
// the filter, and no rule is created or changed.
func TestRulesRejectEmptyFilters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("checkout errors")).Response
	rulePath := "/api/v1/rules/" + rule.RuleID.String()

	cases := []struct {
		name, body, field, path string
	}{
		{"event type", surrogateRule("n", "", "web"),
			"condition.filters.event_type", `["condition","filters","event_type"]`},
		{"source", surrogateRule("n", "error", ""),
			"condition.filters.source", `["condition","filters","source"]`},
	}

	for _, tc := range cases {
		want := emptyFilterIssue(tc.field, tc.path)

		status, body := sendBody(t, a, http.MethodPost, "/api/v1/rules", "application/json", tc.body)
		require.Equal(t, http.StatusBadRequest, status, "POST, %s: %s", tc.name, body)
		require.JSONEq(t, want, body, "POST, %s", tc.name)

		status, body = sendBody(t, a, http.MethodPut, rulePath, "application/json", tc.body)
		require.Equal(t, http.StatusBadRequest, status, "PUT, %s: %s", tc.name, body)
		require.JSONEq(t, want, body, "PUT, %s", tc.name)

		status, body = sendBody(t, a, http.MethodPatch, rulePath, "application/merge-patch+json", tc.body)
		require.Equal(t, http.StatusBadRequest, status, "PATCH, %s: %s", tc.name, body)
		require.JSONEq(t, want, body, "PATCH, %s", tc.name)

		backtest := `{"rule":` + tc.body + `,"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"}`
		status, body = sendBody(t, a, http.MethodPost, "/api/v1/rules/backtest", "application/json", backtest)
		require.Equal(t, http.StatusBadRequest, status, "backtest, %s: %s", tc.name, body)
		require.JSONEq(t, emptyFilterIssue("rule."+tc.field, `["rule",`+tc.path[1:]), body, "backtest, %s", tc.name)
	}

	requireOnlyRuleUnchanged(t, a, rule.RuleID)
}

// TestRulesRejectBlankName sends rule names of spaces and other white
// space; each is a 400 naming the field.
func TestRulesRejectBlankName(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	for _, name := range []string{"   ", `\u00a0\u2003`} {
		status, body := sendBody(t, a, http.MethodPost, "/api/v1/rules", "application/json", surrogateRule(name, "error", "web"))
		require.Equal(t, http.StatusBadRequest, status, "name %q: %s", name, body)
		require.JSONEq(t, `{"error":"Validation failed: name: must not be blank",`+
			`"issues":[{"path":["name"],"message":"must not be blank","code":"invalid"}]}`, body, "name %q", name)
	}
}
