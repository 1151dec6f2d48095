package events

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func validSpec() RuleSpec {
	value := 10.0

	return RuleSpec{
		Name: "spike", Enabled: true, Severity: SeverityWarning, WindowSeconds: 60,
		Condition: Condition{Type: ConditionThreshold, Metric: "count", Operator: ">", Value: &value},
	}
}

func fields(issues []FieldIssue) []string {
	out := make([]string, len(issues))
	for i, issue := range issues {
		out[i] = issue.Field
	}

	return out
}

func TestRuleSpecValidate(t *testing.T) {
	t.Parallel()

	drift, zero, inf := 30.0, 0.0, math.Inf(1)
	lateness := -1

	cases := []struct {
		name   string
		change func(*RuleSpec)
		fields []string
	}{
		{"valid threshold", func(*RuleSpec) {}, []string{}},
		{"group by keys", func(s *RuleSpec) { s.Condition.GroupBy = []string{"source", "payload.user.id"} }, []string{}},
		{"bad group by", func(s *RuleSpec) { s.Condition.GroupBy = []string{"host", "payload.", "source", "source"} },
			[]string{"condition.group_by.0", "condition.group_by.1", "condition.group_by.3"}},
		{"infinite value", func(s *RuleSpec) { s.Condition.Value = &inf }, []string{"condition.value"}},
		{"every top field", func(s *RuleSpec) {
			s.Name, s.Severity, s.WindowSeconds, s.CooldownSeconds = "", "loud", 0, 86401
			s.AllowedLatenessSeconds = &lateness
		}, []string{"name", "severity", "window_seconds", "cooldown_seconds", "allowed_lateness_seconds"}},
		{"threshold missing parts", func(s *RuleSpec) {
			s.Condition = Condition{Type: ConditionThreshold, Metric: "sum", Operator: "=~"}
		}, []string{"condition.metric", "condition.operator", "condition.value"}},
		{"required fields", func(s *RuleSpec) {
			s.Condition = Condition{Type: ConditionRequiredFields, EventType: "login", Fields: []string{"user.id"}}
		}, []string{}},
		{"required fields empty", func(s *RuleSpec) {
			s.Condition = Condition{Type: ConditionRequiredFields, Fields: []string{}, Operator: ">"}
		}, []string{"condition.event_type", "condition.fields", "condition.operator"}},
		{"timestamp drift", func(s *RuleSpec) {
			s.Condition = Condition{Type: ConditionTimestampDrift, MaxDriftSeconds: &drift}
		}, []string{}},
		{"timestamp drift zero", func(s *RuleSpec) {
			s.Condition = Condition{Type: ConditionTimestampDrift, MaxDriftSeconds: &zero, EventType: "x"}
		}, []string{"condition.max_drift_seconds", "condition.event_type"}},
		{"unknown type", func(s *RuleSpec) { s.Condition = Condition{Type: "regex"} }, []string{"condition.type"}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			spec := validSpec()
			tc.change(&spec)
			require.Equal(t, tc.fields, fields(spec.Validate()))
		})
	}
}
