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
	"unicode/utf16"
	"unicode/utf8"
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

// Slack's Block Kit limits, in characters, from
// https://docs.slack.dev/reference/block-kit/blocks/header-block and
// https://docs.slack.dev/reference/block-kit/blocks/section-block. Slack
// rejects a message that breaks one with 400 invalid_blocks, which fails
// the delivery for good. Slack itself cuts the top-level text only after
// 40,000 characters, but that text is the notification and the fallback
// for clients without blocks, so it gets the section text limit.
const (
	slackHeaderMaxChars = 150
	slackFieldMaxChars  = 2000
	slackTextMaxChars   = 3000
)

// slackMessage builds the webhook payload: text for notifications and
// clients without blocks, and blocks with the details. Rule names, group
// keys and messages come from API and ingest clients. The text and the
// mrkdwn text objects therefore escape them, and the mrkdwn text objects
// are verbatim. The header is plain_text, which Slack shows without
// parsing links or mentions. Slack's rules for message text are at
// https://docs.slack.dev/messaging/formatting-message-text.
//
// Group keys quote payload values of any length, so every text is cut to
// its Slack limit, counted after escaping. The Rule field keeps the rule
// id whole and cuts the name before it.
func slackMessage(n Notification) slackPayload {
	a := n.Anomaly
	markdown := func(text string) slackText { return slackText{Type: "mrkdwn", Text: text, Verbatim: true} }
	field := func(label, value, suffix string) slackText {
		// The label and the suffix contain no user input and are kept whole.
		valueMaxChars := slackFieldMaxChars - utf16Length(label) - utf16Length(suffix)

		return markdown(label + cutEscaped(value, valueMaxChars) + suffix)
	}

	blocks := []slackBlock{
		{Type: "header", Text: &slackText{Type: "plain_text", Text: cutPlain(summary(a), slackHeaderMaxChars)}},
		{Type: "section", Fields: []slackText{
			field("*Severity*\n", slackEscape(a.Severity), ""),
			field("*Rule*\n", slackEscape(a.RuleName), " (`"+a.RuleID.String()+"`)"),
			field("*Key*\n", slackEscape(groupKeyText(a)), ""),
			field("*Observed*\n", slackEscape(observedText(a)), ""),
			field("*Window*\n", windowText(a), ""),
			field("*Detected at*\n", a.DetectedAt.UTC().Format(time.RFC3339), ""),
		}},
	}

	if n.DashboardURL != "" {
		// The link is not cut, because a cut URL would lead nowhere. Config
		// validation keeps dashboard_url short enough for the section.
		link := markdown("<" + n.DashboardURL + "|Open the dashboard>")
		blocks = append(blocks, slackBlock{Type: "section", Text: &link})
	}

	return slackPayload{Text: cutEscaped(slackEscape(summary(a)), slackTextMaxChars), Blocks: blocks}
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

// cutPlain returns text unchanged if it is at most maxChars UTF-16 code
// units long. Otherwise it returns the longest prefix that fits with an
// ellipsis appended, cut between characters.
func cutPlain(text string, maxChars int) string {
	return cutText(text, maxChars, false)
}

// cutEscaped is cutPlain for text escaped by slackEscape. It also never
// cuts inside an entity such as &lt;.
func cutEscaped(text string, maxChars int) string {
	return cutText(text, maxChars, true)
}

// cutText implements cutPlain and cutEscaped. Slack does not say whether
// its limits count Unicode code points or UTF-16 code units. UTF-16 code
// units are never fewer, so a text cut by them fits under either reading.
func cutText(text string, maxChars int, escaped bool) string {
	if utf16Length(text) <= maxChars {
		return text
	}

	const ellipsis = "…" // one UTF-16 code unit

	end, used := 0, 0
	for end < len(text) {
		size, width := nextTextUnit(text[end:], escaped)
		if used+width > maxChars-1 {
			break
		}

		end += size
		used += width
	}

	return text[:end] + ellipsis
}

// nextTextUnit returns the size in bytes and the length in UTF-16 code
// units of the first character of text, or of the first entity when text
// is escaped and starts with one. slackEscape writes every & as the start
// of an entity, so in escaped text an entity runs from & to the next ;.
func nextTextUnit(text string, escaped bool) (size, width int) {
	if escaped && text[0] == '&' {
		if end := strings.IndexByte(text, ';'); end > 0 {
			return end + 1, end + 1
		}
	}

	r, size := utf8.DecodeRuneInString(text)

	return size, utf16.RuneLen(r)
}

// utf16Length returns the length of text in UTF-16 code units. Invalid
// UTF-8 bytes count one each, as the U+FFFD that encoding/json sends for
// them.
func utf16Length(text string) int {
	length := 0
	for _, r := range text {
		length += utf16.RuneLen(r)
	}

	return length
}
