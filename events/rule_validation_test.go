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
		{"filters ingestion accepts", func(s *RuleSpec) {
			s.Condition.Filters = &Filters{EventType: "checkout error", Source: "\U0001F468\u200d\U0001F469"}
		}, []string{}},
		{"filters ingestion rejects", func(s *RuleSpec) { s.Condition.Filters = &Filters{EventType: "a\tb", Source: " "} },
			[]string{"condition.filters.event_type", "condition.filters.source"}},
		{"filter source NEL", func(s *RuleSpec) { s.Condition.Filters = &Filters{Source: "x\u0085"} },
			[]string{"condition.filters.source"}},
		{"filter with NUL named once", func(s *RuleSpec) { s.Condition.Filters = &Filters{Source: "a\x00\u200b"} },
			[]string{"condition.filters.source"}},
		{"required fields blank event type", func(s *RuleSpec) {
			s.Condition = Condition{Type: ConditionRequiredFields, EventType: "\u2003", Fields: []string{"user.id"}}
		}, []string{"condition.event_type"}},
		{"name with line separator", func(s *RuleSpec) { s.Name = "a\u2028b" }, []string{"name"}},
		{"name with zero-width space", func(s *RuleSpec) { s.Name = "a\u200bb" }, []string{"name"}},
		{"name with right-to-left override", func(s *RuleSpec) { s.Name = "a\u202eb" }, []string{"name"}},
		{"name with emoji sequence", func(s *RuleSpec) { s.Name = "\U0001F469\U0001F3FD\u200d\U0001F4BB on call" }, []string{}},
		{"name with NUL and zero-width space", func(s *RuleSpec) { s.Name = "a\x00\u200b" }, []string{"name", "name"}},
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

func TestRuleSpecValidateMessages(t *testing.T) {
	t.Parallel()

	spec := validSpec()
	spec.Name = "a\u202eb"
	spec.Condition.Filters = &Filters{EventType: "a\tb", Source: " "}

	require.Equal(t, []FieldIssue{
		{Field: "name", Message: "must contain printable characters only, without control characters; character 2, U+202E, is not printable"},
		{Field: "condition.filters.event_type", Message: "must contain printable characters only, without control characters; character 2, U+0009, is not printable"},
		{Field: "condition.filters.source", Message: "must not be blank"},
	}, spec.Validate())
}
