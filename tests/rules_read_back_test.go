package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// readBack reads rule with the generated client and returns it as a JSON
// object that a test can change and send back.
func readBack(t *testing.T, a *testapp.App, rule oas.Rule) map[string]any {
	t.Helper()

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)

	data, err := got.Response.MarshalJSON()
	require.NoError(t, err)

	var object map[string]any
	require.NoError(t, json.Unmarshal(data, &object))

	for _, member := range []string{"rule_id", "version", "created_at", "updated_at"} {
		require.Contains(t, object, member, "the rule read back has %s", member)
	}

	return object
}

// sendRule sends object as the JSON body of method to path and returns the
// status and the body of the response.
func sendRule(t *testing.T, a *testapp.App, method, path string, object map[string]any) (int, string) {
	t.Helper()

	data, err := json.Marshal(object)
	require.NoError(t, err)

	status, _, body := request(t, a, method, path, "", "", string(data))

	return status, body
}

// decodeRule returns the rule in a response body.
func decodeRule(t *testing.T, body string) oas.Rule {
	t.Helper()

	var rule oas.Rule
	require.NoError(t, rule.UnmarshalJSON([]byte(body)), "body: %s", body)

	return rule
}

// readBackKinds returns one rule input of each condition type, and one with
// every optional member set.
func readBackKinds() map[string]*oas.RuleInput {
	grouped := thresholdRule("grouped")
	grouped.Condition.GroupBy = []string{"source", "payload.host"}
	grouped.AllowedLatenessSeconds = oas.NewOptInt(5)
	grouped.CooldownSeconds = oas.NewOptInt(30)
	grouped.Enabled = oas.NewOptBool(false)

	noFilters := thresholdRule("no filters")
	noFilters.Condition.Filters = oas.OptRuleFilters{}

	return map[string]*oas.RuleInput{
		"threshold":  thresholdRule("threshold"),
		"grouped":    grouped,
		"no filters": noFilters,
		"required fields": {
			Name: "required fields", Severity: oas.SeverityInfo, WindowSeconds: 60,
			Condition: oas.RuleCondition{
				Type:      oas.RuleConditionTypeRequiredFields,
				EventType: oas.NewOptString("order"),
				Fields:    []string{"order_id", "customer.id"},
			},
		},
		"timestamp drift": {
			Name: "timestamp drift", Severity: oas.SeverityCritical, WindowSeconds: 60,
			Condition: oas.RuleCondition{
				Type:            oas.RuleConditionTypeTimestampDrift,
				MaxDriftSeconds: oas.NewOptFloat64(300),
			},
		},
	}
}

func TestRuleReadBackReplace(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	for kind, input := range readBackKinds() {
		rule := createRule(t, a, input).Response
		path := "/api/v1/rules/" + rule.RuleID.String()

		object := readBack(t, a, rule)
		object["name"] = kind + " renamed"

		status, body := sendRule(t, a, http.MethodPut, path, object)
		require.Equal(t, http.StatusOK, status, "%s: %s", kind, body)

		replaced := decodeRule(t, body)
		require.Equal(t, kind+" renamed", replaced.Name, kind)
		require.Equal(t, 2, replaced.Version, kind)
		require.Equal(t, rule.RuleID, replaced.RuleID, kind)
		require.Equal(t, rule.CreatedAt, replaced.CreatedAt, kind)

		want := rule
		want.Name = replaced.Name
		want.Version = replaced.Version
		want.UpdatedAt = replaced.UpdatedAt
		require.Equal(t, want, replaced, "%s: only the name changed", kind)

		got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
		require.NoError(t, err)
		require.Equal(t, replaced, got.Response, kind)

		// The object still carries version 1. Only If-Match makes a change
		// depend on the version, so this replace succeeds too.
		object["cooldown_seconds"] = 45

		status, body = sendRule(t, a, http.MethodPut, path, object)
		require.Equal(t, http.StatusOK, status, "%s: %s", kind, body)
		require.Equal(t, 3, decodeRule(t, body).Version, kind)
		require.Equal(t, 45, decodeRule(t, body).CooldownSeconds, kind)
	}
}

func TestRuleReadBackPatch(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	for kind, input := range readBackKinds() {
		rule := createRule(t, a, input).Response
		path := "/api/v1/rules/" + rule.RuleID.String()

		object := readBack(t, a, rule)
		object["cooldown_seconds"] = 90

		status, body := sendRule(t, a, http.MethodPatch, path, object)
		require.Equal(t, http.StatusOK, status, "%s: %s", kind, body)

		patched := decodeRule(t, body)
		require.Equal(t, 90, patched.CooldownSeconds, kind)
		require.Equal(t, 2, patched.Version, kind)
		require.Equal(t, rule.RuleID, patched.RuleID, kind)
		require.Equal(t, rule.CreatedAt, patched.CreatedAt, kind)

		want := rule
		want.CooldownSeconds = patched.CooldownSeconds
		want.Version = patched.Version
		want.UpdatedAt = patched.UpdatedAt
		require.Equal(t, want, patched, "%s: only cooldown_seconds changed", kind)

		got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
		require.NoError(t, err)
		require.Equal(t, patched, got.Response, kind)
	}

	// The stored patches contain only the members of the spec.
	patches := `SELECT count(*) FROM event_log WHERE metadata->>'name' = 'RulePatched'`
	require.Equal(t, len(readBackKinds()), a.Count(patches+` AND (payload::jsonb)->'patch' ? 'cooldown_seconds'`))
	require.Zero(t, a.Count(patches+` AND (payload::jsonb)->'patch' ?| array['rule_id', 'version', 'created_at', 'updated_at']`))
}

func TestRuleReadBackCreate(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("original")).Response

	object := readBack(t, a, rule)
	object["name"] = "copy"

	status, body := sendRule(t, a, http.MethodPost, "/api/v1/rules", object)
	require.Equal(t, http.StatusCreated, status, "body: %s", body)

	created := decodeRule(t, body)
	require.NotEqual(t, rule.RuleID, created.RuleID, "a create assigns a new id")
	require.Equal(t, "copy", created.Name)
	require.Equal(t, 1, created.Version)
	require.Equal(t, rule.Condition, created.Condition)

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, rule, got.Response, "the original rule is unchanged")
}

func TestRuleReadBackRejects(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("first")).Response
	rulePath := "/api/v1/rules/" + rule.RuleID.String()
	other := createRule(t, a, thresholdRule("second")).Response
	otherPath := "/api/v1/rules/" + other.RuleID.String()

	wrongIDMessage := fmt.Sprintf("must equal the id in the path, %s, or be left out; got %s", other.RuleID, rule.RuleID)
	wrongID := `{"error":"Validation failed: rule_id: ` + wrongIDMessage + `",` +
		`"issues":[{"path":["rule_id"],"message":"` + wrongIDMessage + `","code":"invalid"}]}`

	// withMember returns the first rule as read back, renamed, with member
	// set to value.
	withMember := func(member string, value any) map[string]any {
		object := readBack(t, a, rule)
		object["name"] = "changed"
		object[member] = value

		return object
	}

	cases := []struct {
		name   string
		method string
		path   string
		object map[string]any
		want   string
	}{
		{"replace of another rule", http.MethodPut, otherPath, withMember("name", "changed"), wrongID},
		{"patch of another rule", http.MethodPatch, otherPath, withMember("name", "changed"), wrongID},
		{"create with deleted_at", http.MethodPost, "/api/v1/rules", withMember("deleted_at", nil),
			unknownFieldError(t, "deleted_at")},
		{"replace with etag", http.MethodPut, rulePath, withMember("etag", `"1"`), unknownFieldError(t, "etag")},
		{"patch with etag", http.MethodPatch, rulePath, withMember("etag", `"1"`), unknownFieldError(t, "etag")},
		{"patch of ignored members only", http.MethodPatch, rulePath,
			map[string]any{"rule_id": rule.RuleID.String(), "version": 1},
			`{"error":"the patch changes nothing, because rule_id, version, created_at and updated_at are ` +
				`ignored; send at least one field to change","issues":[]}`},
		{"replace with a string version", http.MethodPut, rulePath, withMember("version", "1"),
			`{"error":"Validation failed: version: invalid type: got a string",` +
				`"issues":[{"path":["version"],"message":"invalid type: got a string","code":"invalid"}]}`},
	}

	for _, c := range cases {
		status, body := sendRule(t, a, c.method, c.path, c.object)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", c.name, body)
		require.JSONEq(t, c.want, body, c.name)
	}

	for _, want := range []oas.Rule{rule, other} {
		got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: want.RuleID})
		require.NoError(t, err)
		require.Equal(t, want, got.Response, "no request changed rule %q", want.Name)
	}

	list, err := a.Client.ListRules(background(), oas.ListRulesParams{})
	require.NoError(t, err)
	require.Len(t, list, 2, "no request created a rule")
}
