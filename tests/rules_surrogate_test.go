package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// sendBody sends body to path with method and contentType and returns the
// status and the response body.
func sendBody(t *testing.T, a *testapp.App, method, path, contentType, body string) (int, string) {
	t.Helper()

	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)

	response, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer response.Body.Close()

	var out bytes.Buffer
	_, err = io.Copy(&out, response.Body)
	require.NoError(t, err)

	return response.StatusCode, out.String()
}

// surrogateRule returns a threshold rule body with name, filter event type
// and filter source written into the JSON as given.
func surrogateRule(name, eventType, source string) string {
	return `{"name":"` + name + `","severity":"info","window_seconds":60,"condition":{"type":"threshold",` +
		`"metric":"count","filters":{"event_type":"` + eventType + `","source":"` + source + `"},` +
		`"operator":">","value":5}}`
}

// surrogateIssue is the validation body for one field with a lone
// surrogate escape.
func surrogateIssue(field, path, escape string) string {
	message := `contains the escape \\` + escape + `, half of a UTF-16 surrogate pair`

	return `{"error":"Validation failed: ` + field + `: ` + message + `",` +
		`"issues":[{"path":` + path + `,"message":"` + message + `","code":"invalid"}]}`
}

func TestRulesRejectLoneSurrogates(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("checkout errors")).Response
	rulePath := "/api/v1/rules/" + rule.RuleID.String()
	backtest := func(ruleBody string) string {
		return `{"rule":` + ruleBody + `,"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"}`
	}

	cases := []struct {
		name                 string
		body                 string
		field, path, escape  string
		backtestField, bPath string
	}{
		{"high half in name", surrogateRule(`a\ud800`, "e", "s"),
			"name", `["name"]`, "ud800", "rule.name", `["rule","name"]`},
		{"low half in name", surrogateRule(`\udc00b`, "e", "s"),
			"name", `["name"]`, "udc00", "rule.name", `["rule","name"]`},
		{"halves in reverse order", surrogateRule(`\ude00\ud83d`, "e", "s"),
			"name", `["name"]`, "ude00", "rule.name", `["rule","name"]`},
		{"high half before a letter", surrogateRule(`\ud83dx`, "e", "s"),
			"name", `["name"]`, "ud83d", "rule.name", `["rule","name"]`},
		{"filter event type", surrogateRule("n", `\uD800`, "s"),
			"condition.filters.event_type", `["condition","filters","event_type"]`, "uD800",
			"rule.condition.filters.event_type", `["rule","condition","filters","event_type"]`},
		{"filter source", surrogateRule("n", "e", `web\udfff`),
			"condition.filters.source", `["condition","filters","source"]`, "udfff",
			"rule.condition.filters.source", `["rule","condition","filters","source"]`},
	}

	for _, tc := range cases {
		want := surrogateIssue(tc.field, tc.path, tc.escape)

		status, body := sendBody(t, a, http.MethodPost, "/api/v1/rules", "application/json", tc.body)
		require.Equal(t, http.StatusBadRequest, status, "POST, %s: %s", tc.name, body)
		require.JSONEq(t, want, body, "POST, %s", tc.name)

		status, body = sendBody(t, a, http.MethodPut, rulePath, "application/json", tc.body)
		require.Equal(t, http.StatusBadRequest, status, "PUT, %s: %s", tc.name, body)
		require.JSONEq(t, want, body, "PUT, %s", tc.name)

		for _, contentType := range []string{"application/merge-patch+json", "application/json"} {
			status, body = sendBody(t, a, http.MethodPatch, rulePath, contentType, tc.body)
			require.Equal(t, http.StatusBadRequest, status, "PATCH as %s, %s: %s", contentType, tc.name, body)
			require.JSONEq(t, want, body, "PATCH as %s, %s", contentType, tc.name)
		}

		status, body = sendBody(t, a, http.MethodPost, "/api/v1/rules/backtest", "application/json", backtest(tc.body))
		require.Equal(t, http.StatusBadRequest, status, "backtest, %s: %s", tc.name, body)
		require.JSONEq(t, surrogateIssue(tc.backtestField, tc.bPath, tc.escape), body, "backtest, %s", tc.name)
	}

	requireOnlyRuleUnchanged(t, a, rule.RuleID)
}

func TestRulesLoneSurrogateWithOtherIssues(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	body := `{"name":"x\ud800","severity":"info","window_seconds":60,"condition":{"type":"required_fields",` +
		`"event_type":"\udc01","fields":["a","b\udbff"],"operator":">"}}`
	status, got := sendBody(t, a, http.MethodPost, "/api/v1/rules", "application/json", body)
	require.Equal(t, http.StatusBadRequest, status, "body: %s", got)

	issues := decodeJSON(t, []byte(got)).(map[string]any)["issues"].([]any)
	var paths []string
	for _, issue := range issues {
		var parts []string
		for _, part := range issue.(map[string]any)["path"].([]any) {
			parts = append(parts, fmt.Sprint(part))
		}
		paths = append(paths, strings.Join(parts, "."))
	}
	require.Equal(t, []string{"name", "condition.event_type", "condition.fields.1", "condition.operator"}, paths)
}

func TestRulesAcceptSurrogatePairs(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	// A whole pair, a literal backslash before "ud800", and U+FFFD itself
	// are valid text.
	body := surrogateRule(`smile \ud83d\ude00`, `\\ud800`, `\ufffd`)
	status, got := sendBody(t, a, http.MethodPost, "/api/v1/rules", "application/json", body)
	require.Equal(t, http.StatusCreated, status, "body: %s", got)

	rule := decodeJSON(t, []byte(got)).(map[string]any)
	require.Equal(t, "smile \U0001F600", rule["name"])
	filters := rule["condition"].(map[string]any)["filters"].(map[string]any)
	require.Equal(t, `\ud800`, filters["event_type"])
	require.Equal(t, "\uFFFD", filters["source"])
}

// requireOnlyRuleUnchanged checks that the rule ruleID is the only rule and
// still at version 1, so no rejected request created or changed a rule.
func requireOnlyRuleUnchanged(t *testing.T, a *testapp.App, ruleID uuid.UUID) {
	t.Helper()

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: ruleID})
	require.NoError(t, err)
	require.Equal(t, 1, got.Response.Version, "no rejected change was applied")

	list, err := a.Client.ListRules(background(), oas.ListRulesParams{})
	require.NoError(t, err)
	require.Len(t, list, 1, "no rejected rule was created")
}
