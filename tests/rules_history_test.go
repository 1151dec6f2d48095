package tests

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/rules"
)

// changedFields returns field → [old, new] of one history entry, with
// absent values as "".
func changedFields(change oas.RuleChange) map[string][2]string {
	fields := make(map[string][2]string, len(change.Changes))
	for _, c := range change.Changes {
		fields[c.Field] = [2]string{string(c.Old), string(c.New)}
	}

	return fields
}

func TestRulesHistoryAfterDelete(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()
	rule := createRule(t, a, thresholdRule("history")).Response

	_, err := a.Client.PatchRule(ctx, mergePatch(oas.RulePatch{
		Condition: oas.NewOptNilRuleConditionPatch(oas.RuleConditionPatch{Value: oas.NewOptNilFloat64(20)}),
	}), oas.PatchRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)

	replacement := thresholdRule("history v3")
	replacement.Severity = oas.SeverityCritical
	replacement.Condition.Value = oas.NewOptFloat64(20)
	_, err = a.Client.ReplaceRule(ctx, replacement, oas.ReplaceRuleParams{RuleID: rule.RuleID})
	require.NoError(t, err)

	require.NoError(t, a.Client.DeleteRule(ctx, oas.DeleteRuleParams{RuleID: rule.RuleID}))

	history, err := a.Client.GetRuleHistory(ctx, oas.GetRuleHistoryParams{RuleID: rule.RuleID})
	require.NoError(t, err)
	require.Len(t, history, 4)

	for i, change := range history {
		require.Equal(t, i+1, change.Version)
		require.Equal(t, events.ActorAnonymous, change.Actor)
		require.False(t, change.RecordedAt.IsZero())
		if i > 0 {
			require.False(t, change.RecordedAt.Before(history[i-1].RecordedAt))
		}
	}

	require.Equal(t, oas.RuleChangeChangeCreated, history[0].Change)
	created := changedFields(history[0])
	require.Equal(t, [2]string{"", `"history"`}, created["name"])
	require.Equal(t, [2]string{"", "10"}, created["condition.value"])
	require.Equal(t, [2]string{"", `"web"`}, created["condition.filters.source"])
	require.Equal(t, [2]string{"", "true"}, created["enabled"])

	require.Equal(t, oas.RuleChangeChangePatched, history[1].Change)
	require.Equal(t, map[string][2]string{"condition.value": {"10", "20"}}, changedFields(history[1]))

	require.Equal(t, oas.RuleChangeChangeReplaced, history[2].Change)
	require.Equal(t, map[string][2]string{
		"name":     {`"history"`, `"history v3"`},
		"severity": {`"warning"`, `"critical"`},
	}, changedFields(history[2]))

	require.Equal(t, oas.RuleChangeChangeDeleted, history[3].Change)
	require.Empty(t, history[3].Changes)

	_, err = a.Client.GetRuleHistory(ctx, oas.GetRuleHistoryParams{RuleID: uuid.New()})
	status, message := statusOf(t, err)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "Rule not found", message)
}

// ruleRows returns every row of the rules table as JSON text, by rule id.
func ruleRows(t *testing.T, a *testapp.App) []string {
	t.Helper()

	rows, err := a.Pool.Query(background(), `SELECT row_to_json(r)::text FROM rules r ORDER BY rule_id`)
	require.NoError(t, err)

	var out []string
	for rows.Next() {
		var row string
		require.NoError(t, rows.Scan(&row))
		out = append(out, row)
	}
	require.NoError(t, rows.Err())

	return out
}

func TestRulesTableRebuiltFromLog(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()

	kept := createRule(t, a, thresholdRule("kept")).Response
	deleted := createRule(t, a, thresholdRule("deleted")).Response
	createRule(t, a, thresholdRule("untouched"))

	_, err := a.Client.PatchRule(ctx, mergePatch(oas.RulePatch{CooldownSeconds: oas.NewOptNilInt(30)}),
		oas.PatchRuleParams{RuleID: kept.RuleID})
	require.NoError(t, err)
	require.NoError(t, a.Client.DeleteRule(ctx, oas.DeleteRuleParams{RuleID: deleted.RuleID}))

	live := ruleRows(t, a)
	require.Len(t, live, 3)

	a.StopWorker()
	_, err = a.Pool.Exec(ctx, `DELETE FROM rules`)
	require.NoError(t, err)
	_, err = a.Pool.Exec(ctx, `DELETE FROM event_log_offsets WHERE consumer_group = $1`, rules.Name)
	require.NoError(t, err)
	a.StartWorker()

	testapp.WaitFor(t, 30*time.Second, "rules table to be rebuilt", func() bool {
		return a.Count(`SELECT count(*) FROM rules WHERE deleted_at IS NOT NULL`) == 1 &&
			a.Count(`SELECT count(*) FROM rules WHERE version = 2`) == 2
	})
	require.Equal(t, live, ruleRows(t, a))
}

// doJSON sends a request the way a client of the earlier EventPulse does
// and decodes the JSON response, if any.
func doJSON(t *testing.T, a *testapp.App, method, path, body string) (int, any) {
	t.Helper()

	request, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		request.Header.Set("Content-Type", "application/json")
	}

	response, err := http.DefaultClient.Do(request)
	require.NoError(t, err)
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	require.NoError(t, err)
	if len(data) == 0 {
		return response.StatusCode, nil
	}

	var decoded any
	require.NoError(t, json.Unmarshal(data, &decoded), "body: %s", data)

	return response.StatusCode, decoded
}

func TestRulesCompatClient(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	status, created := doJSON(t, a, http.MethodPost, "/api/v1/rules", `{
		"name": "High error rate",
		"severity": "critical",
		"window_seconds": 60,
		"condition": {"type": "threshold", "metric": "count",
			"filters": {"event_type": "error"}, "operator": ">", "value": 100}
	}`)
	require.Equal(t, http.StatusCreated, status, "body: %v", created)
	rule := created.(map[string]any)
	for _, key := range []string{"rule_id", "name", "enabled", "severity", "window_seconds",
		"cooldown_seconds", "condition", "created_at", "updated_at"} {
		require.Contains(t, rule, key)
	}
	require.Equal(t, true, rule["enabled"])
	require.Equal(t, 0.0, rule["cooldown_seconds"])
	path := "/api/v1/rules/" + rule["rule_id"].(string)

	status, patched := doJSON(t, a, http.MethodPatch, path, `{"enabled": false}`)
	require.Equal(t, http.StatusOK, status, "body: %v", patched)
	require.Equal(t, false, patched.(map[string]any)["enabled"])
	require.Equal(t, "High error rate", patched.(map[string]any)["name"])

	status, body := doJSON(t, a, http.MethodPatch, path, `{}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.NotEmpty(t, body.(map[string]any)["error"])

	status, replaced := doJSON(t, a, http.MethodPut, path, `{
		"name": "Error burst", "enabled": true, "severity": "warning",
		"window_seconds": 30, "cooldown_seconds": 300,
		"condition": {"type": "threshold", "metric": "count", "filters": {}, "operator": ">=", "value": 5}
	}`)
	require.Equal(t, http.StatusOK, status, "body: %v", replaced)
	require.Equal(t, "Error burst", replaced.(map[string]any)["name"])
	require.Equal(t, 300.0, replaced.(map[string]any)["cooldown_seconds"])

	status, body = doJSON(t, a, http.MethodPost, "/api/v1/rules", `{"name": "", "severity": "loud",
		"window_seconds": 60, "condition": {"type": "threshold", "metric": "count", "operator": ">", "value": 1}}`)
	require.Equal(t, http.StatusBadRequest, status)
	message := body.(map[string]any)["error"].(string)
	require.Contains(t, message, "name")
	require.Contains(t, message, "severity")

	status, list := doJSON(t, a, http.MethodGet, "/api/v1/rules", "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list.([]any), 1)

	status, _ = doJSON(t, a, http.MethodDelete, path, "")
	require.Equal(t, http.StatusNoContent, status)

	status, body = doJSON(t, a, http.MethodGet, path, "")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, map[string]any{"error": "Rule not found"}, body)

	status, list = doJSON(t, a, http.MethodGet, "/api/v1/rules", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []any{}, list)
}

func TestRuleCommandRedeliveredOnce(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	ctx := context.Background()
	handler := commands.NewCreateRuleHandler(a.Pool, a.Deps.Logger)
	value := 3.0
	cmd := &commands.CreateRule{
		RuleCommand: commands.RuleCommand{
			CommandID: uuid.NewString(), Actor: events.ActorAnonymous,
			RuleID: uuid.New(), ExpiresAt: time.Now().Add(time.Minute),
		},
		Spec: events.RuleSpec{Name: "once", Enabled: true, Severity: "info", WindowSeconds: 10,
			Condition: events.Condition{Type: "threshold", Metric: "count", Operator: ">", Value: &value}},
	}

	first, err := handler.Handle(ctx, cmd)
	require.NoError(t, err)
	require.Equal(t, commands.OutcomeApplied, first.Outcome)

	again, err := handler.Handle(ctx, cmd)
	require.NoError(t, err)
	require.Equal(t, first, again)

	cmd.ExpiresAt = time.Now().Add(-time.Minute)
	late, err := handler.Handle(ctx, cmd)
	require.NoError(t, err)
	require.Equal(t, first, late, "a redelivery after expiry still returns the applied result")

	require.Equal(t, 1, a.Count(`SELECT count(*) FROM event_log WHERE metadata ->> 'stream_id' = $1`, cmd.RuleID.String()))

	other := *cmd
	other.CommandID = uuid.NewString()
	other.ExpiresAt = time.Now().Add(time.Minute)
	exists, err := handler.Handle(ctx, &other)
	require.NoError(t, err)
	require.Equal(t, commands.OutcomeExists, exists.Outcome)
}
