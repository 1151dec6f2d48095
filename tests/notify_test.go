package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/notify"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
	"github.com/eventpulse/eventpulse/projections/notifier"
)

func slackChannel(name, url string, extra string) string {
	return fmt.Sprintf("  - name: %s\n    type: slack\n    webhook_url: %s\n%s", name, url, extra)
}

// emailChannel returns the configuration of an email channel named oncall
// that sends to recipients through server over STARTTLS. Its password is
// read from the environment variable passwordVariable, which the helper
// sets for the test. t.Setenv cannot be used with t.Parallel, so each test
// passes a variable name that no other test uses.
func emailChannel(t *testing.T, server *smtpServer, passwordVariable, recipients string) string {
	t.Helper()

	require.NoError(t, os.Setenv(passwordVariable, "s3cret-pass"))
	t.Cleanup(func() { _ = os.Unsetenv(passwordVariable) })
	host, port, _ := strings.Cut(server.addr, ":")

	return fmt.Sprintf(`  - name: oncall
    type: email
    smtp:
      host: %s
      port: %s
      username: alerts
      password: ${%s}
      starttls: required
      ca_file: %s
    from: eventpulse@example.test
    to: [%s]
`, host, port, passwordVariable, server.caFile, recipients)
}

func TestNotifySlackRetriesAfter429(t *testing.T) {
	t.Parallel()

	slack := newFakeSlack(t,
		slackAnswer{status: http.StatusTooManyRequests, retryAfter: "1"},
		slackAnswer{status: http.StatusOK})
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), ""), testapp.Options{})
	anomaly := newAnomaly("critical")

	appendAnomaly(t, a, anomaly)
	waitForStatus(t, a, anomaly.AnomalyID, "ops", notify.StatusSent)

	status, attempts := deliveryStatus(t, a, anomaly.AnomalyID, "ops")
	require.Equal(t, notify.StatusSent, status)
	require.Equal(t, 2, attempts)

	delivered := slack.deliveredRequests()
	require.Len(t, delivered, 1)

	var firstAt time.Time
	require.NoError(t, a.Pool.QueryRow(background(),
		`SELECT created_at FROM notification_deliveries WHERE anomaly_id = $1`, anomaly.AnomalyID).Scan(&firstAt))
	require.GreaterOrEqual(t, delivered[0].at.Sub(firstAt), 900*time.Millisecond,
		"the retry came before the Retry-After of 1s")

	body := delivered[0].body
	require.Equal(t, "[CRITICAL] checkout errors &lt;burst&gt;: 12 error events in 60s (threshold &gt; 10)", body["text"])
	blocks := fmt.Sprint(body["blocks"])
	require.Contains(t, blocks, "*Severity*\ncritical")
	require.Contains(t, blocks, "checkout errors &lt;burst&gt;")
	require.Contains(t, blocks, anomaly.RuleID.String())
	require.Contains(t, blocks, "*Key*\nsource=web/checkout")
	require.Contains(t, blocks, "*Observed*\n12 &gt; 10")
	require.Contains(t, blocks, "(2026-03-01T11:59:30Z, 2026-03-01T12:00:30Z]")
	require.Contains(t, blocks, "<http://127.0.0.1:8080/dashboard|Open the dashboard>")
}

func TestNotifySlack4xxIsNotRetried(t *testing.T) {
	t.Parallel()

	slack := newFakeSlack(t, slackAnswer{status: http.StatusForbidden})
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), ""), testapp.Options{})
	anomaly := newAnomaly("critical")

	appendAnomaly(t, a, anomaly)
	waitForStatus(t, a, anomaly.AnomalyID, "ops", notify.StatusFailed)
	time.Sleep(300 * time.Millisecond)

	status, attempts := deliveryStatus(t, a, anomaly.AnomalyID, "ops")
	require.Equal(t, notify.StatusFailed, status)
	require.Equal(t, 1, attempts)

	list, err := a.Client.ListNotifications(background(), oas.ListNotificationsParams{
		AnomalyID: oas.NewOptUUID(anomaly.AnomalyID),
	})
	require.NoError(t, err)
	require.Len(t, list.Data, 1)
	require.Equal(t, oas.NotificationDeliveryStatusFailed, list.Data[0].Status)
	require.Contains(t, list.Data[0].LastError.Value, "returned 403")
	require.NotContains(t, list.Data[0].LastError.Value, "secret-token", "the webhook URL is a secret")
}

func TestNotifyRetriesUpToMaxAttempts(t *testing.T) {
	t.Parallel()

	slack := newFakeSlack(t, slackAnswer{status: http.StatusBadGateway})
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), ""), testapp.Options{})
	anomaly := newAnomaly("info")

	appendAnomaly(t, a, anomaly)
	waitForStatus(t, a, anomaly.AnomalyID, "ops", notify.StatusFailed)

	status, attempts := deliveryStatus(t, a, anomaly.AnomalyID, "ops")
	require.Equal(t, notify.StatusFailed, status)
	require.Equal(t, 3, attempts)
}

func TestNotifyBrokenChannelDoesNotBlockOthers(t *testing.T) {
	t.Parallel()

	hanging := newFakeSlack(t, slackAnswer{status: 0})
	healthy := newFakeSlack(t)
	a := startWithChannels(t, fastDelivery+"channels:\n"+
		slackChannel("hanging", hanging.URL(), "")+
		slackChannel("healthy", healthy.URL(), ""), testapp.Options{})

	anomalies := []uuid.UUID{}
	for range 3 {
		anomaly := newAnomaly("critical")
		anomalies = append(anomalies, anomaly.AnomalyID)
		appendAnomaly(t, a, anomaly)
	}

	for _, id := range anomalies {
		waitForStatus(t, a, id, "healthy", notify.StatusSent)
	}
	require.Len(t, healthy.deliveredRequests(), 3)

	status, _ := deliveryStatus(t, a, anomalies[2], "hanging")
	require.Equal(t, notify.StatusPending, status)
}

func TestNotifyChannelFilters(t *testing.T) {
	t.Parallel()

	critical := newFakeSlack(t)
	oneRule := newFakeSlack(t)
	watched := newAnomaly("info")
	a := startWithChannels(t, fastDelivery+"channels:\n"+
		slackChannel("critical", critical.URL(), "    severities: [critical]\n")+
		slackChannel("one-rule", oneRule.URL(), "    rule_ids: ["+watched.RuleID.String()+"]\n"),
		testapp.Options{})

	urgent := newAnomaly("critical")
	appendAnomaly(t, a, watched)
	appendAnomaly(t, a, urgent)

	waitForStatus(t, a, urgent.AnomalyID, "critical", notify.StatusSent)
	waitForStatus(t, a, watched.AnomalyID, "one-rule", notify.StatusSent)

	require.Equal(t, 2, a.Count("SELECT count(*) FROM notification_deliveries"))
	require.Len(t, critical.deliveredRequests(), 1)
	require.Len(t, oneRule.deliveredRequests(), 1)
}

func TestNotifyEmailOverStartTLS(t *testing.T) {
	t.Parallel()

	server := newSMTPServer(t)
	a := startWithChannels(t, fastDelivery+"channels:\n"+emailChannel(t, server, "TEST_SMTP_PASSWORD_NOTIFY", "oncall@example.test, lead@example.test"), testapp.Options{})
	anomaly := newAnomaly("critical")

	appendAnomaly(t, a, anomaly)
	waitForStatus(t, a, anomaly.AnomalyID, "oncall", notify.StatusSent)

	received := server.received()
	require.Len(t, received, 1)
	got := received[0]
	require.True(t, got.tls, "message sent without STARTTLS")
	require.True(t, got.authOnTLS, "credentials sent before STARTTLS")
	require.Equal(t, "alerts", got.username)
	require.Equal(t, "s3cret-pass", got.password)
	require.Equal(t, "eventpulse@example.test", got.from)
	require.Equal(t, []string{"oncall@example.test", "lead@example.test"}, got.to)

	message, err := mail.ReadMessage(bytes.NewReader(got.data))
	require.NoError(t, err)
	require.Equal(t, "[EventPulse] [CRITICAL] checkout errors <burst>: 12 error events in 60s (threshold > 10)",
		message.Header.Get("Subject"))
	require.Equal(t, anomaly.AnomalyID.String(), message.Header.Get("X-EventPulse-Anomaly-ID"))

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
		data, err := io.ReadAll(part)
		require.NoError(t, err)
		partType, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		parts[partType] = string(data)
	}

	require.Len(t, parts, 2)
	require.Contains(t, parts["text/plain"], "Observed:    12 > 10")
	require.Contains(t, parts["text/plain"], "Key:         source=web/checkout")
	require.Contains(t, parts["text/plain"], "Dashboard: http://127.0.0.1:8080/dashboard")
	require.Contains(t, parts["text/html"], "checkout errors &lt;burst&gt;")
	require.Contains(t, parts["text/html"], `<a href="http://127.0.0.1:8080/dashboard">`)
}

func TestNotifyEmailSubjectWithLineBreak(t *testing.T) {
	t.Parallel()

	server := newSMTPServer(t)
	a := startWithChannels(t, fastDelivery+"channels:\n"+emailChannel(t, server, "TEST_SMTP_PASSWORD_SUBJECT", "oncall@example.test"), testapp.Options{})
	// Rule names are free text from the API, so one may contain a line
	// break followed by what looks like another header.
	anomaly := newAnomaly("critical")
	anomaly.RuleName = "checkout errors\r\nBcc: intruder@example.test"

	appendAnomaly(t, a, anomaly)
	waitForStatus(t, a, anomaly.AnomalyID, "oncall", notify.StatusSent)

	received := server.received()
	require.Len(t, received, 1)
	message, err := mail.ReadMessage(bytes.NewReader(received[0].data))
	require.NoError(t, err)
	require.Empty(t, message.Header.Get("Bcc"), "the rule name added a header")

	subject, err := new(mime.WordDecoder).DecodeHeader(message.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "[EventPulse] [CRITICAL] checkout errors\r\nBcc: intruder@example.test: "+
		"12 error events in 60s (threshold > 10)", subject)
}

func TestNotifyStopMidSendSendsOnce(t *testing.T) {
	t.Parallel()

	slack := newFakeSlack(t, slackAnswer{status: 0}, slackAnswer{status: http.StatusOK})
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), ""), testapp.Options{})
	anomaly := newAnomaly("critical")

	appendAnomaly(t, a, anomaly)

	select {
	case <-slack.hanging:
	case <-time.After(30 * time.Second):
		require.FailNow(t, "the delivery loop never sent")
	}

	a.StopWorker()

	status, attempts := deliveryStatus(t, a, anomaly.AnomalyID, "ops")
	require.Equal(t, notify.StatusPending, status)
	require.Equal(t, 0, attempts, "a send cut short by a stop is not an attempt")
	require.Empty(t, slack.deliveredRequests())

	a.StartWorker()
	waitForStatus(t, a, anomaly.AnomalyID, "ops", notify.StatusSent)
	time.Sleep(500 * time.Millisecond)

	require.Len(t, slack.deliveredRequests(), 1)
	status, attempts = deliveryStatus(t, a, anomaly.AnomalyID, "ops")
	require.Equal(t, notify.StatusSent, status)
	require.Equal(t, 1, attempts)
}

func TestNotifyExpiredLeaseIsSentOnce(t *testing.T) {
	t.Parallel()

	slack := newFakeSlack(t)
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), ""),
		testapp.Options{NoWorker: true})
	anomaly := newAnomaly("critical")

	// A delivery loop that died mid-send leaves its row claimed until the
	// lease ends.
	_, err := a.Pool.Exec(background(), `
		INSERT INTO notification_deliveries (anomaly_id, channel, rule_id, severity, anomaly, attempts, lease_until)
		VALUES ($1, 'ops', $2, 'critical', $3, 1, now() + interval '1 second')`,
		anomaly.AnomalyID, anomaly.RuleID, anomalyJSON(t, anomaly))
	require.NoError(t, err)

	a.StartWorker()
	waitForStatus(t, a, anomaly.AnomalyID, "ops", notify.StatusSent)
	time.Sleep(500 * time.Millisecond)

	require.Len(t, slack.deliveredRequests(), 1)
	_, attempts := deliveryStatus(t, a, anomaly.AnomalyID, "ops")
	require.Equal(t, 2, attempts)
}

func TestNotifyReplaySendsNothing(t *testing.T) {
	t.Parallel()

	slack := newFakeSlack(t)
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), ""), testapp.Options{})
	first, second := newAnomaly("critical"), newAnomaly("info")

	appendAnomaly(t, a, first)
	appendAnomaly(t, a, second)
	waitForStatus(t, a, first.AnomalyID, "ops", notify.StatusSent)
	waitForStatus(t, a, second.AnomalyID, "ops", notify.StatusSent)

	a.StopWorker()
	_, err := a.Pool.Exec(background(), `DELETE FROM event_log_offsets WHERE consumer_group = $1`, notifier.Name)
	require.NoError(t, err)

	a.StartWorker()
	testapp.WaitFor(t, 30*time.Second, "notifier to read the log again", func() bool {
		return a.Count(caughtUpQuery, []string{notifier.Name}) == 1
	})
	time.Sleep(500 * time.Millisecond)

	require.Len(t, slack.deliveredRequests(), 2)
	require.Equal(t, 2, a.Count("SELECT count(*) FROM notification_deliveries"))
}

func TestNotifierReplayingRecordsNothing(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	ctx := background()
	channels := []notify.ChannelConfig{{Name: "ops", Type: notify.TypeSlack}}
	anomaly := newAnomaly("critical")

	err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		return notifier.Projector{Channels: channels, Replaying: true}.Apply(ctx, tx, anomaly, notifierMeta())
	})
	require.NoError(t, err)
	require.Equal(t, 0, a.Count("SELECT count(*) FROM notification_deliveries"))

	err = pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		return notifier.Projector{Channels: channels}.Apply(ctx, tx, anomaly, notifierMeta())
	})
	require.NoError(t, err)
	require.Equal(t, 1, a.Count("SELECT count(*) FROM notification_deliveries WHERE status = 'pending'"))
}

func TestNotificationsListFilters(t *testing.T) {
	t.Parallel()

	ok := newFakeSlack(t)
	rejecting := newFakeSlack(t, slackAnswer{status: http.StatusNotFound})
	a := startWithChannels(t, fastDelivery+"channels:\n"+
		slackChannel("ok", ok.URL(), "")+slackChannel("rejecting", rejecting.URL(), ""), testapp.Options{})
	anomaly := newAnomaly("warning")

	appendAnomaly(t, a, anomaly)
	waitForStatus(t, a, anomaly.AnomalyID, "ok", notify.StatusSent)
	waitForStatus(t, a, anomaly.AnomalyID, "rejecting", notify.StatusFailed)

	ctx := background()
	all, err := a.Client.ListNotifications(ctx, oas.ListNotificationsParams{})
	require.NoError(t, err)
	require.Len(t, all.Data, 2)
	require.Equal(t, oas.Pagination{Limit: 20, Offset: 0, Count: 2}, all.Pagination)

	sent, err := a.Client.ListNotifications(ctx, oas.ListNotificationsParams{
		Status: oas.NewOptListNotificationsStatus(oas.ListNotificationsStatusSent),
	})
	require.NoError(t, err)
	require.Len(t, sent.Data, 1)
	require.Equal(t, "ok", sent.Data[0].Channel)
	require.True(t, sent.Data[0].SentAt.Set)
	require.Equal(t, anomaly.RuleID, sent.Data[0].RuleID)
	require.Equal(t, "warning", sent.Data[0].Severity)

	byChannel, err := a.Client.ListNotifications(ctx, oas.ListNotificationsParams{Channel: oas.NewOptString("rejecting")})
	require.NoError(t, err)
	require.Len(t, byChannel.Data, 1)
	require.Equal(t, oas.NotificationDeliveryStatusFailed, byChannel.Data[0].Status)

	other, err := a.Client.ListNotifications(ctx, oas.ListNotificationsParams{AnomalyID: oas.NewOptUUID(uuid.New())})
	require.NoError(t, err)
	require.Empty(t, other.Data)

	for query, message := range map[string]string{
		"status=done":     "status must be one of: pending, sent, failed",
		"anomaly_id=nope": "anomaly_id must be a valid UUID",
		"limit=ten":       "limit must be an integer",
	} {
		status, body := get(t, a, "/api/v1/notifications?"+query)
		require.Equal(t, http.StatusBadRequest, status, query)
		require.JSONEq(t, fmt.Sprintf(`{"error":%q}`, message), string(body), query)
	}
}

func TestNotifyEscapesPayloadMarkup(t *testing.T) {
	t.Parallel()

	slack := newFakeSlack(t)
	server := newSMTPServer(t)
	a := startWithChannels(t, fastDelivery+"channels:\n"+slackChannel("ops", slack.URL(), "")+emailChannel(t, server, "TEST_SMTP_PASSWORD_MARKUP", "oncall@example.test"), testapp.Options{})

	rule := createRule(t, a, &oas.RuleInput{
		Name:          "logins & <sso>",
		Severity:      oas.SeverityWarning,
		WindowSeconds: 60,
		Condition: oas.RuleCondition{
			Type:     oas.RuleConditionTypeThreshold,
			Metric:   oas.NewOptRuleConditionMetric(oas.RuleConditionMetricCount),
			Filters:  oas.NewOptRuleFilters(oas.RuleFilters{Source: oas.NewOptString("sso")}),
			Operator: oas.NewOptRuleConditionOperator(oas.RuleConditionOperatorGreater),
			Value:    oas.NewOptFloat64(1),
			GroupBy:  []string{"payload.who"},
		},
	}).Response.RuleID

	// Ingest clients choose the payload and therefore the group key.
	event := `{"event_type":"login","source":"sso","payload":{"who":"<!channel> *bold* <https://evil.example|login>"}}`
	status, _, body := postJSON(t, a, "/api/v1/events/batch", "["+event+","+event+"]")
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 2)
	waitForDetection(t, a)

	anomalies := liveAnomalies(t, a, rule)
	require.Len(t, anomalies, 1)
	anomalyID := anomalies[0].AnomalyID
	waitForStatus(t, a, anomalyID, "ops", notify.StatusSent)
	waitForStatus(t, a, anomalyID, "oncall", notify.StatusSent)

	delivered := slack.deliveredRequests()
	require.Len(t, delivered, 1)
	require.Equal(t, "[WARNING] logins &amp; &lt;sso&gt; "+
		`(payload.who="&lt;!channel&gt; *bold* &lt;https://evil.example|login&gt;"): 2 matching events in 60s, &gt; 1`,
		delivered[0].body["text"])
	// The header block is plain_text, which Slack shows as it is, so only
	// the mrkdwn blocks after it are escaped.
	blocks, ok := delivered[0].body["blocks"].([]any)
	require.True(t, ok, "blocks: %v", delivered[0].body["blocks"])
	require.Len(t, blocks, 3)
	mrkdwnBlocks := fmt.Sprint(blocks[1:])
	require.Contains(t, mrkdwnBlocks, "*Key*\n"+`payload.who="&lt;!channel&gt; *bold* &lt;https://evil.example|login&gt;"`)
	require.Contains(t, mrkdwnBlocks, "*Rule*\nlogins &amp; &lt;sso&gt;")
	require.NotContains(t, mrkdwnBlocks, "<!channel>")
	require.NotContains(t, mrkdwnBlocks, "<https://evil.example")

	received := server.received()
	require.Len(t, received, 1)
	message, err := mail.ReadMessage(bytes.NewReader(received[0].data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(message.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "[EventPulse] [WARNING] logins & <sso> "+
		`(payload.who="<!channel> *bold* <https://evil.example|login>"): 2 matching events in 60s, > 1`, subject)
}
