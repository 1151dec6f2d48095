package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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

// longValueAnomaly returns an anomaly of a rule grouped by payload.name
// whose payload value is value, which may be of any length.
func longValueAnomaly(value string) events.AnomalyDetected {
	a := hostileAnomaly()
	a.RuleName = "big payload"
	a.GroupKey = `payload.name="` + value + `"`
	a.Message = a.RuleName + " (" + a.GroupKey + "): 6 matching events in 60s, > 5"

	return a
}

// utf16Units counts s in UTF-16 code units, the unit of the Slack limits
// as slackMessage applies them.
func utf16Units(s string) int { return len(utf16.Encode([]rune(s))) }

// keyField returns the text of the Key field of the details section.
func keyField(t *testing.T, payload slackPayload) string {
	t.Helper()
	require.Len(t, payload.Blocks, 2)
	require.Len(t, payload.Blocks[1].Fields, 6)

	return payload.Blocks[1].Fields[2].Text
}

func TestSlackCutsLongPlainValue(t *testing.T) {
	t.Parallel()

	payload := slackMessage(Notification{Anomaly: longValueAnomaly(strings.Repeat("a", 5000))})

	require.Equal(t, 3000, utf16Units(payload.Text))
	require.True(t, strings.HasPrefix(payload.Text, `[CRITICAL] big payload (payload.name="aaa`))
	require.True(t, strings.HasSuffix(payload.Text, "aaa…"))

	header := payload.Blocks[0].Text.Text
	require.Equal(t, 150, utf16Units(header))
	require.True(t, strings.HasSuffix(header, "aaa…"))

	key := keyField(t, payload)
	require.Equal(t, 2000, utf16Units(key))
	require.True(t, strings.HasPrefix(key, "*Key*\npayload.name=\"aaa"))
	require.True(t, strings.HasSuffix(key, "aaa…"))
}

// Each < becomes &lt;, four characters, and a cut keeps whole entities.
func TestSlackCutsLongEscapedValue(t *testing.T) {
	t.Parallel()

	payload := slackMessage(Notification{Anomaly: longValueAnomaly(strings.Repeat("<", 3000))})

	// 38 characters of prefix, 740 entities in the 2,961 left before the
	// ellipsis, then the ellipsis.
	require.Equal(t, 38+740*4+1, utf16Units(payload.Text))
	require.True(t, strings.HasPrefix(payload.Text, `[CRITICAL] big payload (payload.name="&lt;`))
	require.True(t, strings.HasSuffix(payload.Text, "&lt;&lt;…"))

	// The header is plain_text, which is sent unescaped.
	header := payload.Blocks[0].Text.Text
	require.Equal(t, 150, utf16Units(header))
	require.True(t, strings.HasSuffix(header, "<<…"))

	// "*Key*\npayload.name=\"" is 20 characters, and 494 entities fit in
	// the 1,979 left before the ellipsis.
	key := keyField(t, payload)
	require.Equal(t, 20+494*4+1, utf16Units(key))
	require.True(t, strings.HasSuffix(key, "&lt;&lt;…"))
}

// A long rule name is cut before the rule id, which stays whole.
func TestSlackCutsLongRuleName(t *testing.T) {
	t.Parallel()

	a := hostileAnomaly()
	a.RuleName = strings.Repeat("&", 3000)
	a.Message = a.RuleName + ": 6 matching events in 60s, > 5"

	payload := slackMessage(Notification{Anomaly: a})
	require.Len(t, payload.Blocks, 2)
	rule := payload.Blocks[1].Fields[1].Text

	// "*Rule*\n" is 7 characters and the id suffix 41, so 390 &amp;
	// entities fit in the 1,951 left before the ellipsis.
	suffix := " (`6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b`)"
	require.Equal(t, 7+390*5+1+41, utf16Units(rule))
	require.True(t, strings.HasPrefix(rule, "*Rule*\n&amp;"))
	require.True(t, strings.HasSuffix(rule, "&amp;…"+suffix))
}

// Characters are counted in UTF-16 code units and never split.
func TestSlackCutsLongMultiByteValue(t *testing.T) {
	t.Parallel()

	t.Run("two-byte characters", func(t *testing.T) {
		t.Parallel()

		// é is 2 bytes in UTF-8 and one UTF-16 code unit.
		payload := slackMessage(Notification{Anomaly: longValueAnomaly(strings.Repeat("é", 5000))})

		require.Equal(t, 3000, utf16Units(payload.Text))
		require.True(t, strings.HasSuffix(payload.Text, "éé…"))
		require.True(t, utf8.ValidString(payload.Text))

		header := payload.Blocks[0].Text.Text
		require.Equal(t, 150, utf16Units(header))
		require.True(t, strings.HasSuffix(header, "éé…"))
		require.True(t, utf8.ValidString(header))

		key := keyField(t, payload)
		require.Equal(t, 2000, utf16Units(key))
		require.True(t, strings.HasSuffix(key, "éé…"))
		require.True(t, utf8.ValidString(key))
	})

	t.Run("four-byte characters", func(t *testing.T) {
		t.Parallel()

		// 😀 is 4 bytes in UTF-8 and two UTF-16 code units.
		payload := slackMessage(Notification{Anomaly: longValueAnomaly(strings.Repeat("😀", 3000))})

		// 38 characters of prefix, 1,480 emoji in the 2,961 code units
		// left before the ellipsis, then the ellipsis.
		require.Equal(t, 38+1480*2+1, utf16Units(payload.Text))
		require.True(t, strings.HasSuffix(payload.Text, "😀😀…"))
		require.True(t, utf8.ValidString(payload.Text))

		header := payload.Blocks[0].Text.Text
		require.Equal(t, 38+55*2+1, utf16Units(header))
		require.True(t, strings.HasSuffix(header, "😀😀…"))
		require.True(t, utf8.ValidString(header))

		key := keyField(t, payload)
		require.Equal(t, 20+989*2+1, utf16Units(key))
		require.True(t, strings.HasSuffix(key, "😀😀…"))
		require.True(t, utf8.ValidString(key))
	})
}
