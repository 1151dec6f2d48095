package tests

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
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

// ruleIssue is the validation body for one invalid rule field.
func ruleIssue(field, path, message string) string {
	return `{"error":"Validation failed: ` + field + `: ` + message + `",` +
		`"issues":[{"path":` + path + `,"message":"` + message + `","code":"invalid"}]}`
}

// requireRuleRejected sends body to every route that takes a rule and
// checks that each returns 400 with the single issue message at field. It
// also sends patch, a merge patch that changes only that field.
func requireRuleRejected(t *testing.T, a *testapp.App, rulePath, body, patch, field, path, message string) {
	t.Helper()

	want := ruleIssue(field, path, message)
	sends := []struct{ method, path, contentType, body string }{
		{http.MethodPost, "/api/v1/rules", "application/json", body},
		{http.MethodPut, rulePath, "application/json", body},
		{http.MethodPatch, rulePath, "application/merge-patch+json", body},
		{http.MethodPatch, rulePath, "application/merge-patch+json", patch},
	}

	for _, send := range sends {
		status, got := sendBody(t, a, send.method, send.path, send.contentType, send.body)
		require.Equal(t, http.StatusBadRequest, status, "%s %s: %s", send.method, send.body, got)
		require.JSONEq(t, want, got, "%s %s", send.method, send.body)
	}

	backtest := `{"rule":` + body + `,"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"}`
	status, got := sendBody(t, a, http.MethodPost, "/api/v1/rules/backtest", "application/json", backtest)
	require.Equal(t, http.StatusBadRequest, status, "backtest %s: %s", body, got)
	require.JSONEq(t, ruleIssue("rule."+field, `["rule",`+path[1:], message), got, "backtest %s", body)
}

// unprintable returns the reason ingestion gives for a name whose
// character at position is a control, format or separator character.
func unprintable(position int, code string) string {
	return fmt.Sprintf("must contain printable characters only, without control characters; character %d, U+%s, is not printable", position, code)
}

// TestRulesRejectUnmatchableFilters sends filters that ingestion rejects
// as an event_type or source, so no event could match them. Each route
// that takes a rule returns 400 with ingestion's reason.
func TestRulesRejectUnmatchableFilters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("checkout errors")).Response
	rulePath := "/api/v1/rules/" + rule.RuleID.String()

	cases := []struct {
		name, eventType, source, field, message string
	}{
		{"blank source", "error", " ", "source", "must not be blank"},
		{"blank event type of other spaces", `\u00a0\u3000`, "web", "event_type", "must not be blank"},
		{"tab in event type", `a\tb`, "web", "event_type", unprintable(2, "0009")},
		{"NEL in source", "error", `x\u0085`, "source", unprintable(2, "0085")},
		{"line separator in event type", `a\u2028b`, "web", "event_type", unprintable(2, "2028")},
		{"zero-width space in source", "error", `a\u200bb`, "source", unprintable(2, "200B")},
		{"right-to-left override in source", "error", `\u202eweb`, "source", unprintable(1, "202E")},
		{"zero-width joiner between letters", `a\u200db`, "web", "event_type", unprintable(2, "200D")},
	}

	for _, tc := range cases {
		value := map[string]string{"event_type": tc.eventType, "source": tc.source}[tc.field]
		patch := `{"condition":{"filters":{"` + tc.field + `":"` + value + `"}}}`

		t.Run(tc.name, func(t *testing.T) {
			requireRuleRejected(t, a, rulePath, surrogateRule("n", tc.eventType, tc.source), patch,
				"condition.filters."+tc.field, `["condition","filters","`+tc.field+`"]`, tc.message)
		})
	}

	requireOnlyRuleUnchanged(t, a, rule.RuleID)
}

// TestRulesRejectInvisibleNameCharacters sends rule names containing
// characters that ingestion rejects in an event_type: separators, format
// characters and spaces other than U+0020.
func TestRulesRejectInvisibleNameCharacters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("checkout errors")).Response
	rulePath := "/api/v1/rules/" + rule.RuleID.String()

	cases := []struct {
		name, message string
	}{
		{`a\u2028b`, unprintable(2, "2028")},
		{`a\u2029b`, unprintable(2, "2029")},
		{`a\u200bb`, unprintable(2, "200B")},
		{`\u202eevil`, unprintable(1, "202E")},
		{`a\u00a0b`, unprintable(2, "00A0")},
		{`a\u200db`, unprintable(2, "200D")},
		{`a\ue000`, unprintable(2, "E000")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireRuleRejected(t, a, rulePath, surrogateRule(tc.name, "error", "web"), `{"name":"`+tc.name+`"}`,
				"name", `["name"]`, tc.message)
		})
	}

	requireOnlyRuleUnchanged(t, a, rule.RuleID)
}

// TestRulesAcceptEmojiSequences creates a rule whose name and filter hold
// emoji joined by U+200D, as ingestion accepts them, and reads it back.
func TestRulesAcceptEmojiSequences(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	const name = "\U0001F469\U0001F3FD\u200d\U0001F4BB on call"
	const source = "\U0001F3F3\ufe0f\u200d\U0001F308"

	input := thresholdRule(name)
	input.Condition.Filters = oas.NewOptRuleFilters(oas.RuleFilters{Source: oas.NewOptString(source)})
	rule := createRule(t, a, input).Response

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, name, got.Response.Name)
	require.Equal(t, source, got.Response.Condition.Filters.Value.Source.Value)
}

// TestRulesStoredBeforeNameCheckReadable rewrites a stored rule to hold a
// name and a filter that validation now rejects, as a rule stored by an
// earlier release may. The rule still reads back, and a patch must fix
// both fields before it applies.
func TestRulesStoredBeforeNameCheckReadable(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()
	rule := createRule(t, a, thresholdRule("stored rule")).Response
	const name, source = "stored\u200brule", " "

	tag, err := a.Pool.Exec(ctx, `UPDATE event_log SET payload = jsonb_set(jsonb_set(payload::jsonb,
		'{spec,name}', to_jsonb($2::text)), '{spec,condition,filters,source}', to_jsonb($3::text))::json
		WHERE metadata ->> 'stream_id' = $1`, rule.RuleID.String(), name, source)
	require.NoError(t, err)
	require.Equal(t, int64(1), tag.RowsAffected(), "log records of the rule")

	tag, err = a.Pool.Exec(ctx, `UPDATE rules SET name = $2,
		condition = jsonb_set(condition, '{filters,source}', to_jsonb($3::text)) WHERE rule_id = $1`,
		rule.RuleID, name, source)
	require.NoError(t, err)
	require.Equal(t, int64(1), tag.RowsAffected(), "rows of the rule")

	got, err := a.Client.GetRule(ctx, oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, name, got.Response.Name)
	require.Equal(t, source, got.Response.Condition.Filters.Value.Source.Value)

	list, err := a.Client.ListRules(ctx, oas.ListRulesParams{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, name, list[0].Name)

	rulePath := "/api/v1/rules/" + rule.RuleID.String()
	status, body := sendBody(t, a, http.MethodPatch, rulePath, "application/merge-patch+json", `{"enabled":false}`)
	require.Equal(t, http.StatusBadRequest, status, "body: %s", body)
	require.Contains(t, body, `"path":["name"]`)
	require.Contains(t, body, `"path":["condition","filters","source"]`)

	status, body = sendBody(t, a, http.MethodPatch, rulePath, "application/merge-patch+json",
		`{"name":"stored rule","condition":{"filters":{"source":"web"}}}`)
	require.Equal(t, http.StatusOK, status, "body: %s", body)
	require.Equal(t, 2, decodeRule(t, body).Version)
}
