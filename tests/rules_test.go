package tests

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func thresholdRule(name string) *oas.RuleInput {
	return &oas.RuleInput{
		Name:          name,
		Severity:      oas.SeverityWarning,
		WindowSeconds: 60,
		Condition: oas.RuleCondition{
			Type:     oas.RuleConditionTypeThreshold,
			Metric:   oas.NewOptRuleConditionMetric(oas.RuleConditionMetricCount),
			Filters:  oas.NewOptRuleFilters(oas.RuleFilters{EventType: oas.NewOptString("error"), Source: oas.NewOptString("web")}),
			Operator: oas.NewOptRuleConditionOperator(oas.RuleConditionOperatorGreater),
			Value:    oas.NewOptFloat64(10),
		},
	}
}

func createRule(t *testing.T, a *testapp.App, input *oas.RuleInput) *oas.RuleHeaders {
	t.Helper()

	res, err := a.Client.CreateRule(background(), input)
	require.NoError(t, err)

	created, ok := res.(*oas.RuleHeaders)
	require.True(t, ok, "response %T: %+v", res, res)

	return created
}

// statusOf returns the status of an error response returned by the client.
func statusOf(t *testing.T, err error) (int, string) {
	t.Helper()

	var statusErr *oas.ErrorStatusCode
	require.True(t, errors.As(err, &statusErr), "error %v is not an API error", err)

	return statusErr.StatusCode, statusErr.Response.Error
}

func mergePatch(patch oas.RulePatch) oas.PatchRuleReq {
	req := oas.PatchRuleApplicationMergePatchJSON(patch)
	return &req
}

func TestRulesCRUD(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()

	created := createRule(t, a, thresholdRule("errors from web"))
	rule := created.Response
	require.Equal(t, `"1"`, created.ETag)
	require.Equal(t, "/api/v1/rules/"+rule.RuleID.String(), created.Location)
	require.Equal(t, "errors from web", rule.Name)
	require.True(t, rule.Enabled)
	require.Equal(t, 0, rule.CooldownSeconds)
	require.Equal(t, 1, rule.Version)
	require.Equal(t, rule.CreatedAt, rule.UpdatedAt)

	got, err := a.Client.GetRule(ctx, oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, `"1"`, got.ETag)
	require.Equal(t, rule, got.Response)

	list, err := a.Client.ListRules(ctx, oas.ListRulesParams{})
	require.NoError(t, err)
	require.Equal(t, []oas.Rule{rule}, list)

	replacement := thresholdRule("renamed")
	replacement.Severity = oas.SeverityCritical
	replacement.Enabled = oas.NewOptBool(false)
	res, err := a.Client.ReplaceRule(ctx, replacement, oas.ReplaceRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	replaced, ok := res.(*oas.GetRuleOKHeaders)
	require.True(t, ok, "response %T", res)
	require.Equal(t, `"2"`, replaced.ETag)
	require.Equal(t, "renamed", replaced.Response.Name)
	require.Equal(t, oas.SeverityCritical, replaced.Response.Severity)
	require.False(t, replaced.Response.Enabled)
	require.Equal(t, rule.CreatedAt, replaced.Response.CreatedAt)

	res2, err := a.Client.PatchRule(ctx, mergePatch(oas.RulePatch{Enabled: oas.NewOptNilBool(true)}),
		oas.PatchRuleParams{RuleID: rule.RuleID, IfMatch: oas.NewOptString(`"2"`)})
	require.NoError(t, err)
	patched, ok := res2.(*oas.GetRuleOKHeaders)
	require.True(t, ok, "response %T", res2)
	require.Equal(t, 3, patched.Response.Version)
	require.True(t, patched.Response.Enabled)
	require.Equal(t, "renamed", patched.Response.Name)

	critical, err := a.Client.ListRules(ctx, oas.ListRulesParams{Severity: oas.NewOptSeverity(oas.SeverityCritical)})
	require.NoError(t, err)
	require.Len(t, critical, 1)
	info, err := a.Client.ListRules(ctx, oas.ListRulesParams{Severity: oas.NewOptSeverity(oas.SeverityInfo)})
	require.NoError(t, err)
	require.Empty(t, info)
	disabled, err := a.Client.ListRules(ctx, oas.ListRulesParams{Enabled: oas.NewOptBool(false)})
	require.NoError(t, err)
	require.Empty(t, disabled)

	require.NoError(t, a.Client.DeleteRule(ctx, oas.DeleteRuleParams{RuleID: rule.RuleID}))

	_, err = a.Client.GetRule(ctx, oas.GetRuleParams{RuleID: rule.RuleID})
	status, message := statusOf(t, err)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "Rule not found", message)

	list, err = a.Client.ListRules(ctx, oas.ListRulesParams{})
	require.NoError(t, err)
	require.Empty(t, list)

	err = a.Client.DeleteRule(ctx, oas.DeleteRuleParams{RuleID: rule.RuleID})
	status, _ = statusOf(t, err)
	require.Equal(t, http.StatusNotFound, status)
}

func TestRulesPatchNestedCondition(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()
	rule := createRule(t, a, thresholdRule("nested")).Response

	res, err := a.Client.PatchRule(ctx, mergePatch(oas.RulePatch{
		Condition: oas.NewOptNilRuleConditionPatch(oas.RuleConditionPatch{
			Value: oas.NewOptNilFloat64(25),
			Filters: oas.NewOptNilRuleFiltersPatch(oas.RuleFiltersPatch{
				Source: oas.OptNilString{Set: true, Null: true},
			}),
			GroupBy: oas.NewOptNilStringArray([]string{"source", "payload.host"}),
		}),
	}), oas.PatchRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)

	patched, ok := res.(*oas.GetRuleOKHeaders)
	require.True(t, ok, "response %T", res)
	condition := patched.Response.Condition
	require.Equal(t, 25.0, condition.Value.Value)
	require.Equal(t, oas.RuleConditionOperatorGreater, condition.Operator.Value)
	require.Equal(t, oas.RuleConditionMetricCount, condition.Metric.Value)
	require.Equal(t, "error", condition.Filters.Value.EventType.Value)
	require.False(t, condition.Filters.Value.Source.Set, "source removed by null")
	require.Equal(t, []string{"source", "payload.host"}, condition.GroupBy)
	require.Equal(t, "nested", patched.Response.Name)
	require.Equal(t, 2, patched.Response.Version)

	got, err := a.Client.GetRule(ctx, oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, patched.Response, got.Response)
}

func TestRulesPatchInvalidResult(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("strict")).Response

	// Switching the type keeps the threshold members, which the new type
	// does not allow, so the merged rule is invalid.
	res, err := a.Client.PatchRule(background(), mergePatch(oas.RulePatch{
		Condition: oas.NewOptNilRuleConditionPatch(oas.RuleConditionPatch{
			Type: oas.NewOptNilRuleConditionPatchType(oas.RuleConditionPatchTypeTimestampDrift),
		}),
	}), oas.PatchRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)

	invalid, ok := res.(*oas.ValidationError)
	require.True(t, ok, "response %T", res)
	require.Contains(t, invalid.Error, "condition.max_drift_seconds: is required")
	require.Contains(t, invalid.Error, "condition.operator: is not allowed for condition type timestamp_drift")
	require.Contains(t, invalid.Error, "condition.value: is not allowed")

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, 1, got.Response.Version)
}

func TestRulesPatchNullRequiredMember(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("nulled")).Response
	path := "/api/v1/rules/" + rule.RuleID.String()

	status, _, body := request(t, a, http.MethodPatch, path, "", "", `{"window_seconds":null}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, "window_seconds: is required, so a patch cannot set it to null")
	require.NotContains(t, body, "got 0")

	status, _, body = request(t, a, http.MethodPatch, path, "", "", `{"cooldown_seconds":null}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"cooldown_seconds":0`)
}

func TestRulesErrors(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()
	rule := createRule(t, a, thresholdRule("errors")).Response

	status, body := get(t, a, "/api/v1/rules/not-a-uuid")
	require.Equal(t, http.StatusBadRequest, status)
	require.JSONEq(t, `{"error":"rule_id must be a valid UUID"}`, string(body))

	_, err := a.Client.GetRule(ctx, oas.GetRuleParams{RuleID: uuid.New()})
	status, message := statusOf(t, err)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "Rule not found", message)

	_, err = a.Client.PatchRule(ctx, mergePatch(oas.RulePatch{Name: oas.NewOptNilString("x")}),
		oas.PatchRuleParams{RuleID: uuid.New()})
	status, _ = statusOf(t, err)
	require.Equal(t, http.StatusNotFound, status)

	_, err = a.Client.ReplaceRule(ctx, thresholdRule("x"), oas.ReplaceRuleParams{RuleID: uuid.New()})
	status, _ = statusOf(t, err)
	require.Equal(t, http.StatusNotFound, status)

	res, err := a.Client.PatchRule(ctx, mergePatch(oas.RulePatch{}), oas.PatchRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	empty, ok := res.(*oas.ValidationError)
	require.True(t, ok, "response %T", res)
	require.Contains(t, empty.Error, "empty")

	_, err = a.Client.PatchRule(ctx, mergePatch(oas.RulePatch{Name: oas.NewOptNilString("stale")}),
		oas.PatchRuleParams{RuleID: rule.RuleID, IfMatch: oas.NewOptString(`"7"`)})
	status, message = statusOf(t, err)
	require.Equal(t, http.StatusPreconditionFailed, status)
	require.Contains(t, message, "version 1, not 7")

	err = a.Client.DeleteRule(ctx, oas.DeleteRuleParams{RuleID: rule.RuleID, IfMatch: oas.NewOptString(`"2"`)})
	status, _ = statusOf(t, err)
	require.Equal(t, http.StatusPreconditionFailed, status)

	got, err := a.Client.GetRule(ctx, oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, 1, got.Response.Version)
	require.Equal(t, "errors", got.Response.Name)
}

func TestRulesValidationNamesEveryField(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	input := thresholdRule("")
	input.WindowSeconds = 0
	input.CooldownSeconds = oas.NewOptInt(90000)
	res, err := a.Client.CreateRule(background(), input)
	require.NoError(t, err)
	invalid, ok := res.(*oas.ValidationError)
	require.True(t, ok, "response %T", res)
	require.Contains(t, invalid.Error, "name")
	require.Contains(t, invalid.Error, "window_seconds")
	require.Contains(t, invalid.Error, "cooldown_seconds")
	require.Len(t, invalid.Issues, 3)

	drift := thresholdRule("drift")
	drift.Condition = oas.RuleCondition{
		Type:      oas.RuleConditionTypeRequiredFields,
		EventType: oas.NewOptString("login"),
		Fields:    []string{"user..id"},
		Value:     oas.NewOptFloat64(3),
	}
	res, err = a.Client.CreateRule(background(), drift)
	require.NoError(t, err)
	invalid, ok = res.(*oas.ValidationError)
	require.True(t, ok, "response %T", res)
	require.Contains(t, invalid.Error, "condition.fields.0: must be a dotted path")
	require.Contains(t, invalid.Error, "condition.value: is not allowed for condition type required_fields")

	list, err := a.Client.ListRules(background(), oas.ListRulesParams{})
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestRulesNameWithControlCharacter(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()
	const reason = "must not contain control characters, such as a line break or a tab"

	for _, name := range []string{"checkout\r\nBcc: intruder@example.test", "tab\there", "red \u001b[31m"} {
		res, err := a.Client.CreateRule(ctx, thresholdRule(name))
		require.NoError(t, err)
		invalid, ok := res.(*oas.ValidationError)
		require.True(t, ok, "name %q: response %T", name, res)
		require.Len(t, invalid.Issues, 1, "name %q", name)
		require.Equal(t, reason, invalid.Issues[0].Message, "name %q", name)
		require.Equal(t, "Validation failed: name: "+reason, invalid.Error, "name %q", name)
	}

	list, err := a.Client.ListRules(ctx, oas.ListRulesParams{})
	require.NoError(t, err)
	require.Empty(t, list)

	rule := createRule(t, a, thresholdRule("checkout errors")).Response
	res, err := a.Client.PatchRule(ctx, mergePatch(oas.RulePatch{Name: oas.NewOptNilString("checkout\nerrors")}),
		oas.PatchRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	invalid, ok := res.(*oas.ValidationError)
	require.True(t, ok, "response %T", res)
	require.Equal(t, "Validation failed: name: "+reason, invalid.Error)

	got, err := a.Client.GetRule(ctx, oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, "checkout errors", got.Response.Name)
	require.Equal(t, 1, got.Response.Version)
}

func TestRulesConcurrentPatchOneWins(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("race")).Response

	const writers = 2
	var wg sync.WaitGroup
	statuses := make([]int, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()

			res, err := a.Client.PatchRule(background(),
				mergePatch(oas.RulePatch{Name: oas.NewOptNilString("writer " + string(rune('a'+i)))}),
				oas.PatchRuleParams{RuleID: rule.RuleID, IfMatch: oas.NewOptString(`"1"`)})
			if err != nil {
				statuses[i], _ = statusOf(t, err)
				return
			}
			if _, ok := res.(*oas.GetRuleOKHeaders); ok {
				statuses[i] = http.StatusOK
			}
		}()
	}
	wg.Wait()

	require.ElementsMatch(t, []int{http.StatusOK, http.StatusPreconditionFailed}, statuses)

	got, err := a.Client.GetRule(background(), oas.GetRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Equal(t, 2, got.Response.Version)

	history, err := a.Client.GetRuleHistory(background(), oas.GetRuleHistoryParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Len(t, history, 2)
}

func TestRulesNoReplyGives504(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true, Config: func(c *config.Config) {
		c.RuleReplyTimeout = time.Second
	}})

	res, err := a.Client.CreateRule(background(), thresholdRule("late"))
	require.NoError(t, err)
	timeout, ok := res.(*oas.ErrorStatusCode)
	require.True(t, ok, "response %T", res)
	require.Equal(t, http.StatusGatewayTimeout, timeout.StatusCode)

	a.StartWorker()

	// The worker handles the expired command first and drops it; the
	// rule created after it proves the worker has caught up.
	createRule(t, a, thresholdRule("on time"))

	list, err := a.Client.ListRules(background(), oas.ListRulesParams{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "on time", list[0].Name)
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM event_log WHERE metadata ->> 'name' = 'RuleCreated'`))
}
