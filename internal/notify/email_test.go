package notify

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// composedEmail is a message that compose returned, split into its decoded
// subject, its header lines as sent and its parts by media type.
type composedEmail struct {
	subject     string
	headerLines []string
	parts       map[string]string
}

func composeEmail(t *testing.T, n Notification) composedEmail {
	t.Helper()

	sender := &Email{config: ChannelConfig{Name: "oncall", From: "eventpulse@example.test", To: []string{"oncall@example.test"}}}
	data, err := sender.compose(n, time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC))
	require.NoError(t, err)

	rawHeader, _, found := bytes.Cut(data, []byte("\r\n\r\n"))
	require.True(t, found, "the message has no blank line after its header")

	message, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)

	subject, err := new(mime.WordDecoder).DecodeHeader(message.Header.Get("Subject"))
	require.NoError(t, err)

	mediaType, params, err := mime.ParseMediaType(message.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType)

	parts := map[string]string{}
	reader := multipart.NewReader(message.Body, params["boundary"])
	for {
		part, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)

		content, err := io.ReadAll(part)
		require.NoError(t, err)
		partType, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		require.NoError(t, err)
		parts[partType] = string(content)
	}

	return composedEmail{
		subject:     subject,
		headerLines: strings.Split(string(rawHeader), "\r\n"),
		parts:       parts,
	}
}

func TestEmailNamesRuleOnce(t *testing.T) {
	t.Parallel()

	anomaly := hostileAnomaly()
	anomaly.RuleName = "checkout errors"
	anomaly.GroupKey = `source="web/checkout"`
	anomaly.Message = `checkout errors (source="web/checkout"): 6 matching events in 60s, > 5`

	email := composeEmail(t, Notification{Anomaly: anomaly})

	require.Equal(t, `[EventPulse] [CRITICAL] checkout errors (source="web/checkout"): 6 matching events in 60s, > 5`,
		email.subject)
	require.True(t, strings.HasPrefix(email.parts["text/plain"],
		"[CRITICAL] checkout errors (source=\"web/checkout\"): 6 matching events in 60s, > 5\r\n"),
		"plain part: %q", email.parts["text/plain"])
	require.Contains(t, email.parts["text/html"],
		"<h2>[CRITICAL] checkout errors (source=&#34;web/checkout&#34;): 6 matching events in 60s, &gt; 5</h2>")
}

func TestEmailHTMLEscapesValues(t *testing.T) {
	t.Parallel()

	email := composeEmail(t, Notification{Anomaly: hostileAnomaly()})
	html := email.parts["text/html"]

	require.Contains(t, html, "<h2>[CRITICAL] logins &lt;!here&gt; &amp; co "+
		"(payload.who=&#34;&lt;!channel&gt; *bold* &lt;https://evil.example|login&gt; @here&#34;): "+
		"6 matching events in 60s, &gt; 5</h2>")
	require.Contains(t, html, "<tr><th align=\"left\">Key</th><td>"+
		"payload.who=&#34;&lt;!channel&gt; *bold* &lt;https://evil.example|login&gt; @here&#34;</td></tr>")
	require.NotContains(t, html, "<!channel>")
	require.NotContains(t, html, "<https://evil.example")
}

func TestEmailLongSubjectIsCutAndFolded(t *testing.T) {
	t.Parallel()

	for name, value := range map[string]string{
		"ascii":     strings.Repeat("x", 5000),
		"non-ascii": strings.Repeat("é😀", 2500),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			anomaly := hostileAnomaly()
			anomaly.RuleName = "logins"
			anomaly.GroupKey = `payload.who="` + value + `"`
			anomaly.Message = "logins (" + anomaly.GroupKey + "): 6 matching events in 60s, > 5"

			email := composeEmail(t, Notification{Anomaly: anomaly})

			want := []rune("[CRITICAL] " + anomaly.Message)[:subjectMaxChars-1]
			require.Equal(t, "[EventPulse] "+string(want)+"…", email.subject)
			for _, line := range email.headerLines {
				require.LessOrEqual(t, len(line), 998, "header line %.60q…", line)
			}
			require.Contains(t, email.parts["text/plain"], "Key:         "+anomaly.GroupKey+"\r\n")
		})
	}
}
