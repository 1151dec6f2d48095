package notify

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

func TestSummaryNamesRuleOnce(t *testing.T) {
	t.Parallel()

	ruleID := uuid.MustParse("6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b")
	cases := []struct {
		name     string
		ruleName string
		message  string
		want     string
	}{
		{
			name:     "detector message without group key",
			ruleName: "checkout errors",
			message:  "checkout errors: 6 matching events in 60s, > 5",
			want:     "[CRITICAL] checkout errors: 6 matching events in 60s, > 5",
		},
		{
			name:     "detector message with group key",
			ruleName: "checkout errors",
			message:  `checkout errors (source="web"): 6 matching events in 60s, > 5`,
			want:     `[CRITICAL] checkout errors (source="web"): 6 matching events in 60s, > 5`,
		},
		{
			name:     "message without rule name",
			ruleName: "checkout errors",
			message:  "6 matching events in 60s, > 5",
			want:     "[CRITICAL] checkout errors: 6 matching events in 60s, > 5",
		},
		{
			name:     "message starting with a longer name",
			ruleName: "checkout",
			message:  "checkout errors: 6 matching events in 60s, > 5",
			want:     "[CRITICAL] checkout: checkout errors: 6 matching events in 60s, > 5",
		},
		{
			name:     "rule without name",
			ruleName: "",
			message:  "6 matching events in 60s, > 5",
			want:     "[CRITICAL] " + ruleID.String() + ": 6 matching events in 60s, > 5",
		},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			anomaly := events.AnomalyDetected{RuleID: ruleID, RuleName: c.ruleName, Severity: "critical", Message: c.message}
			require.Equal(t, c.want, summary(anomaly))
		})
	}
}
