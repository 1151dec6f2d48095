package commands

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

func thresholdSpec() events.RuleSpec {
	value := 10.0

	return events.RuleSpec{
		Name:            "bursts",
		Enabled:         true,
		Severity:        "warning",
		WindowSeconds:   60,
		CooldownSeconds: 30,
		Condition:       events.Condition{Type: "threshold", Metric: "count", Operator: ">", Value: &value},
	}
}

func TestMergeRulePatchNamesRemovedRequiredMembers(t *testing.T) {
	t.Parallel()

	require.Empty(t, thresholdSpec().Validate())

	_, issues := MergeRulePatch(thresholdSpec(), map[string]any{"window_seconds": nil, "name": "renamed"})
	require.Equal(t, []events.FieldIssue{
		{Field: "window_seconds", Message: "is required, so a patch cannot set it to null"},
	}, issues)

	_, issues = MergeRulePatch(thresholdSpec(), map[string]any{"condition": nil})
	require.Equal(t, []events.FieldIssue{
		{Field: "condition", Message: "is required, so a patch cannot set it to null"},
	}, issues)

	_, issues = MergeRulePatch(thresholdSpec(), map[string]any{"condition": map[string]any{"value": nil}, "severity": "loud"})
	require.Equal(t, []events.FieldIssue{
		{Field: "severity", Message: `must be one of critical, warning, info, got "loud"`},
		{Field: "condition.value", Message: "is required, so a patch cannot set it to null"},
	}, issues)
}

func TestMergeRulePatchNullRestoresOptionalDefault(t *testing.T) {
	t.Parallel()

	spec, issues := MergeRulePatch(thresholdSpec(), map[string]any{"cooldown_seconds": nil})
	require.Empty(t, issues)
	require.Zero(t, spec.CooldownSeconds)
}
