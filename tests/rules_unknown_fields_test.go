package tests

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// validRuleMembers are the members of a valid threshold rule body, without
// the braces, so a case can add a member before or after them.
const validRuleMembers = `"name":"n","severity":"info","window_seconds":60,` +
	`"condition":{"type":"threshold","metric":"count","operator":">","value":5}`

// unknownFieldError returns the body of the 400 response naming field as
// unknown.
func unknownFieldError(t *testing.T, field string) string {
	t.Helper()

	return fieldError(t, field, "is not a known field")
}

func TestRulesRejectUnknownFields(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("strict")).Response
	rulePath := "/api/v1/rules/" + rule.RuleID.String()
	// Patching empty filters into a rule that has none adds them, so on this
	// rule a dropped unknown filter key would make a new version.
	input := thresholdRule("no filters")
	input.Condition.Filters = oas.OptRuleFilters{}
	noFilters := createRule(t, a, input).Response
	noFiltersPath := "/api/v1/rules/" + noFilters.RuleID.String()
	backtestRange := `"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"`

	cases := []struct {
		method string
		path   string
		body   string
		field  string
	}{
		{http.MethodPost, "/api/v1/rules", `{` + validRuleMembers + `,"cooldown_secs":60}`, "cooldown_secs"},
		{http.MethodPost, "/api/v1/rules", `{"cooldown_secs":60,` + validRuleMembers + `}`, "cooldown_secs"},
		{http.MethodPost, "/api/v1/rules", `{"name":"n","severity":"info","window_seconds":60,` +
			`"condition":{"type":"threshold","metric":"count","operator":">","valu":5}}`, "condition.valu"},
		{http.MethodPut, rulePath, `{` + validRuleMembers + `,"enabeld":false}`, "enabeld"},
		{http.MethodPut, rulePath, `{` + validRuleMembers + `,"rule_id":"` + rule.RuleID.String() +
			`","deleted_at":null}`, "deleted_at"},
		{http.MethodPatch, rulePath, `{"cooldown_secs":60}`, "cooldown_secs"},
		{http.MethodPatch, rulePath, `{"enabled":false,"enabeld":true}`, "enabeld"},
		{http.MethodPatch, rulePath, `{"condition":{"group_bye":["source"]}}`, "condition.group_bye"},
		{http.MethodPatch, rulePath, `{"condition":{"filters":{"evnt_type":"x"}}}`, "condition.filters.evnt_type"},
		{http.MethodPatch, noFiltersPath, `{"condition":{"filters":{"evnt_type":"x"}}}`, "condition.filters.evnt_type"},
		{http.MethodPatch, noFiltersPath, `{"condition":{"filters":{"source":"web","src":"x"}}}`,
			"condition.filters.src"},
		{http.MethodPut, rulePath, `{"name":"n","severity":"info","window_seconds":60,"condition":{"type":"threshold",` +
			`"metric":"count","filters":{"evnt_type":"x"},"operator":">","value":5}}`, "condition.filters.evnt_type"},
		{http.MethodPost, "/api/v1/rules/backtest", `{"rule":{` + validRuleMembers + `,"cooldown_secs":60},` +
			backtestRange + `}`, "rule.cooldown_secs"},
		{http.MethodPost, "/api/v1/rules/backtest", `{"rule":{` + validRuleMembers + `},` + backtestRange +
			`,"max_event":5}`, "max_event"},
	}

	for _, c := range cases {
		status, _, body := request(t, a, c.method, c.path, "", "", c.body)
		require.Equal(t, http.StatusBadRequest, status, "%s %s %s: %s", c.method, c.path, c.body, body)
		require.JSONEq(t, unknownFieldError(t, c.field), body, "%s %s %s", c.method, c.path, c.body)
	}

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, rule, got.Response, "no request changed the rule")

	got, err = a.Client.GetRule(background(), oas.GetRuleParams{RuleID: noFilters.RuleID})
	require.NoError(t, err)
	require.Equal(t, noFilters, got.Response, "no request changed the rule without filters")

	list, err := a.Client.ListRules(background(), oas.ListRulesParams{})
	require.NoError(t, err)
	require.Len(t, list, 2, "no request created a rule")
}

func TestRulesAcceptEveryDocumentedField(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	status, _, body := request(t, a, http.MethodPost, "/api/v1/rules", "", "", `{
		"name": "every field", "enabled": true, "severity": "warning", "window_seconds": 60,
		"cooldown_seconds": 30, "allowed_lateness_seconds": 5,
		"condition": {"type": "threshold", "metric": "count", "filters": {"event_type": "error", "source": "web"},
			"operator": ">", "value": 5, "group_by": ["source"]}}`)
	require.Equal(t, http.StatusCreated, status, "body: %s", body)

	var created oas.Rule
	require.NoError(t, created.UnmarshalJSON([]byte(body)))
	path := "/api/v1/rules/" + created.RuleID.String()

	status, _, body = request(t, a, http.MethodPut, path, "", "", `{
		"name": "drift", "enabled": false, "severity": "info", "window_seconds": 120,
		"cooldown_seconds": 0, "allowed_lateness_seconds": 10,
		"condition": {"type": "timestamp_drift", "max_drift_seconds": 300}}`)
	require.Equal(t, http.StatusOK, status, "body: %s", body)

	status, _, body = request(t, a, http.MethodPatch, path, "", "", `{
		"name": "fields", "enabled": true, "severity": "critical", "window_seconds": 60,
		"cooldown_seconds": 10, "allowed_lateness_seconds": null,
		"condition": {"type": "required_fields", "metric": null, "filters": null, "operator": null,
			"value": null, "group_by": null, "event_type": "error", "fields": ["message"],
			"max_drift_seconds": null}}`)
	require.Equal(t, http.StatusOK, status, "body: %s", body)

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: created.RuleID})
	require.NoError(t, err)
	require.Equal(t, 3, got.Response.Version)
	require.Equal(t, "fields", got.Response.Name)
	require.Equal(t, oas.RuleConditionTypeRequiredFields, got.Response.Condition.Type)
	require.Equal(t, []string{"message"}, got.Response.Condition.Fields)
	require.False(t, got.Response.AllowedLatenessSeconds.Set)
}

// fieldError returns the body of a 400 response with one issue: message
// at field, a dotted path whose numeric parts are array indexes.
func fieldError(t *testing.T, field, message string) string {
	t.Helper()

	var elements []any
	for _, part := range strings.Split(field, ".") {
		if index, err := strconv.Atoi(part); err == nil {
			elements = append(elements, index)
		} else {
			elements = append(elements, part)
		}
	}

	path, err := json.Marshal(elements)
	require.NoError(t, err)

	return `{"error":"Validation failed: ` + field + `: ` + message + `",` +
		`"issues":[{"path":` + string(path) + `,"message":"` + message + `","code":"invalid"}]}`
}

func TestRulesRejectBadBytesRepeatsAndUnderflow(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("strict")).Response
	rulePath := "/api/v1/rules/" + rule.RuleID.String()
	backtestRange := `"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"`
	condition := `"condition":{"type":"threshold","metric":"count","operator":">","value":5}`

	cases := []struct {
		method  string
		path    string
		body    string
		field   string
		message string
	}{
		{http.MethodPost, "/api/v1/rules", `{"name":"p` + "\xff" + `","severity":"info","window_seconds":60,` + condition + `}`,
			"name", "is not valid UTF-8"},
		{http.MethodPost, "/api/v1/rules", `{"name":"n","severity":"info","window_seconds":60,"condition":{"type":"threshold",` +
			`"metric":"count","filters":{"source":"ab` + "\xc0" + `cd"},"operator":">","value":5}}`,
			"condition.filters.source", "is not valid UTF-8"},
		{http.MethodPut, rulePath, `{"name":"n","severity":"info","window_seconds":60,"condition":{"type":"threshold",` +
			`"metric":"count","operator":">","value":5,"group_by":["payload.s` + "\xfe" + `"]}}`,
			"condition.group_by.0", "is not valid UTF-8"},
		{http.MethodPatch, rulePath, `{"name":"p` + "\xff" + `"}`, "name", "is not valid UTF-8"},
		{http.MethodPost, "/api/v1/rules/backtest", `{"rule":{"name":"b` + "\xff" + `","severity":"info",` +
			`"window_seconds":60,` + condition + `},` + backtestRange + `}`, "rule.name", "is not valid UTF-8"},
		{http.MethodPost, "/api/v1/rules", `{"name":"n","severity":"info","window_seconds":60,"condition":{"type":"threshold",` +
			`"metric":"count","operator":">","value":1e-400}}`, "condition.value", "is out of range"},
		{http.MethodPatch, rulePath, `{"condition":{"value":-2.5E-999}}`, "condition.value", "is out of range"},
		{http.MethodPost, "/api/v1/rules", `{"name":"r","name":"s","severity":"info","window_seconds":60,` + condition + `}`,
			"name", "is sent more than once"},
		{http.MethodPatch, rulePath, `{"enabled":false,"enabled":true}`, "enabled", "is sent more than once"},
		{http.MethodPut, rulePath, `{"name":"n","severity":"info","window_seconds":60,"condition":{"type":"threshold",` +
			`"metric":"count","operator":">","value":5,"value":6}}`, "condition.value", "is sent more than once"},
	}

	for _, c := range cases {
		status, _, body := request(t, a, c.method, c.path, "", "", c.body)
		require.Equal(t, http.StatusBadRequest, status, "%s %s %q: %s", c.method, c.path, c.body, body)
		require.JSONEq(t, fieldError(t, c.field, c.message), body, "%s %s %q", c.method, c.path, c.body)
	}

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, rule, got.Response, "no request changed the rule")

	list, err := a.Client.ListRules(background(), oas.ListRulesParams{})
	require.NoError(t, err)
	require.Len(t, list, 1, "no request created a rule")
	require.Zero(t, a.Count("SELECT count(*) FROM dead_letters"), "no command reached the worker and failed")
}
