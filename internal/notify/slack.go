package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Slack posts notifications to a Slack incoming webhook.
type Slack struct {
	webhookURL string
	client     *http.Client
}

// NewSlack returns a sender posting to webhookURL with client, or with a
// client of its own when client is nil.
func NewSlack(webhookURL string, client *http.Client) *Slack {
	if client == nil {
		client = &http.Client{}
	}

	return &Slack{webhookURL: webhookURL, client: client}
}

// Send posts the message. A 429 is retried after its Retry-After, other
// 4xx answers are permanent failures, and 5xx answers and network errors
// are retried with backoff. Errors never contain the webhook URL, which is
// a secret.
func (s *Slack) Send(ctx context.Context, n Notification) error {
	body, err := json.Marshal(slackMessage(n))
	if err != nil {
		return permanent("error encoding Slack message: %v", err)
	}

	request, err := http.NewRequestWithContext(ctx, http.MethodPost, s.webhookURL, bytes.NewReader(body))
	if err != nil {
		return permanent("invalid Slack webhook URL")
	}
	request.Header.Set("Content-Type", "application/json")

	response, err := s.client.Do(request)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}

		return fmt.Errorf("error posting to Slack webhook: %w", err)
	}
	defer response.Body.Close()

	answer, _ := io.ReadAll(io.LimitReader(response.Body, 512))

	switch {
	case response.StatusCode >= 200 && response.StatusCode < 300:
		return nil
	case response.StatusCode == http.StatusTooManyRequests:
		return &SendError{
			Err:        fmt.Errorf("slack webhook returned 429: %s", answer),
			RetryAfter: parseRetryAfter(response.Header.Get("Retry-After"), time.Now()),
		}
	case response.StatusCode >= 400 && response.StatusCode < 500:
		return permanent("slack webhook returned %d: %s", response.StatusCode, answer)
	default:
		return fmt.Errorf("slack webhook returned %d: %s", response.StatusCode, answer)
	}
}

// parseRetryAfter reads a Retry-After header given in seconds or as an
// HTTP date; it returns zero when the header is missing or invalid.
func parseRetryAfter(value string, now time.Time) time.Duration {
	if value == "" {
		return 0
	}

	if seconds, err := strconv.Atoi(value); err == nil {
		return time.Duration(max(seconds, 0)) * time.Second
	}

	if at, err := http.ParseTime(value); err == nil {
		return max(at.Sub(now), 0)
	}

	return 0
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
	// Verbatim turns off Slack's automatic parsing of a mrkdwn text, so
	// URLs, channel names and mentions such as @here stay plain text.
	// Markup in angle brackets is still parsed.
	Verbatim bool `json:"verbatim,omitempty"`
}

type slackBlock struct {
	Type   string      `json:"type"`
	Text   *slackText  `json:"text,omitempty"`
	Fields []slackText `json:"fields,omitempty"`
}

type slackPayload struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

// slackMessage builds the webhook payload: text for notifications and
// clients without blocks, and blocks with the details. Rule names, group
// keys and messages come from API and ingest clients. The text and the
// mrkdwn text objects therefore escape them, and the mrkdwn text objects
// are verbatim. The header is plain_text, which Slack shows without
// parsing links or mentions. Slack's rules for message text are at
// https://docs.slack.dev/messaging/formatting-message-text.
func slackMessage(n Notification) slackPayload {
	a := n.Anomaly
	markdown := func(text string) slackText { return slackText{Type: "mrkdwn", Text: text, Verbatim: true} }

	blocks := []slackBlock{
		{Type: "header", Text: &slackText{Type: "plain_text", Text: truncate(summary(a), 150)}},
		{Type: "section", Fields: []slackText{
			markdown("*Severity*\n" + slackEscape(a.Severity)),
			markdown("*Rule*\n" + slackEscape(a.RuleName) + " (`" + a.RuleID.String() + "`)"),
			markdown("*Key*\n" + slackEscape(groupKeyText(a))),
			markdown("*Observed*\n" + slackEscape(observedText(a))),
			markdown("*Window*\n" + windowText(a)),
			markdown("*Detected at*\n" + a.DetectedAt.UTC().Format(time.RFC3339)),
		}},
	}

	if n.DashboardURL != "" {
		link := markdown("<" + n.DashboardURL + "|Open the dashboard>")
		blocks = append(blocks, slackBlock{Type: "section", Text: &link})
	}

	return slackPayload{Text: slackEscape(summary(a)), Blocks: blocks}
}

// slackEscaper escapes the three characters that Slack uses for links,
// mentions and entities. Slack has no escape for the formatting characters
// (*, _, ~ and `), so they stay as they are. In a value they can make text
// bold, italic, struck or code and hide their own markers, but they cannot
// make a link or a mention.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackEscaper.Replace(s) }

func truncate(s string, n int) string {
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}

	return string(runes[:n-1]) + "…"
}
