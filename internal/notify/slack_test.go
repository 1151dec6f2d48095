package notify

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

// hostileAnomaly returns an anomaly as the detector records it for a rule
// grouped by payload.who, where both the rule name and the payload value
// contain Slack markup.
func hostileAnomaly() events.AnomalyDetected {
	end := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	key := `payload.who="<!channel> *bold* <https://evil.example|login> @here"`

	return events.AnomalyDetected{
		AnomalyID:   uuid.MustParse("0b6f5a3c-1d2e-4f70-8a9b-c0d1e2f3a4b5"),
		RuleID:      uuid.MustParse("6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b"),
		RuleName:    "logins <!here> & co",
		Severity:    "critical",
		GroupKey:    key,
		Observed:    6,
		Threshold:   5,
		Operator:    ">",
		WindowStart: end.Add(-time.Minute),
		WindowEnd:   end,
		Message:     "logins <!here> & co (" + key + "): 6 matching events in 60s, > 5",
		DetectedAt:  end,
	}
}

func TestSlackTextEscapesMarkup(t *testing.T) {
	t.Parallel()

	payload := slackMessage(Notification{Anomaly: hostileAnomaly()})

	require.Equal(t, "[CRITICAL] logins &lt;!here&gt; &amp; co "+
		`(payload.who="&lt;!channel&gt; *bold* &lt;https://evil.example|login&gt; @here"): `+
		"6 matching events in 60s, &gt; 5", payload.Text)
}

func TestSlackBlocksEscapeMarkup(t *testing.T) {
	t.Parallel()

	payload := slackMessage(Notification{
		Anomaly:      hostileAnomaly(),
		DashboardURL: "https://eventpulse.example.com/dashboard",
	})
	blocks, err := json.Marshal(payload.Blocks)
	require.NoError(t, err)

	require.JSONEq(t, `[
		{"type": "header", "text": {"type": "plain_text",
			"text": "[CRITICAL] logins <!here> & co (payload.who=\"<!channel> *bold* <https://evil.example|login> @here\"): 6 matching events in 60s, > 5"}},
		{"type": "section", "fields": [
			{"type": "mrkdwn", "verbatim": true, "text": "*Severity*\ncritical"},
			{"type": "mrkdwn", "verbatim": true,
				"text": "*Rule*\nlogins &lt;!here&gt; &amp; co (`+"`6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b`"+`)"},
			{"type": "mrkdwn", "verbatim": true,
				"text": "*Key*\npayload.who=\"&lt;!channel&gt; *bold* &lt;https://evil.example|login&gt; @here\""},
			{"type": "mrkdwn", "verbatim": true, "text": "*Observed*\n6 &gt; 5"},
			{"type": "mrkdwn", "verbatim": true, "text": "*Window*\n(2026-03-01T11:59:30Z, 2026-03-01T12:00:30Z]"},
			{"type": "mrkdwn", "verbatim": true, "text": "*Detected at*\n2026-03-01T12:00:30Z"}
		]},
		{"type": "section", "text": {"type": "mrkdwn", "verbatim": true,
			"text": "<https://eventpulse.example.com/dashboard|Open the dashboard>"}}
	]`, string(blocks))
}
