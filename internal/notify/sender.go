package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/eventpulse/eventpulse/events"
)

// Notification is what a channel sends for one anomaly.
type Notification struct {
	Anomaly events.AnomalyDetected
	// Channel is the name of the channel sending it.
	Channel string
	// DashboardURL is linked from the message when not empty.
	DashboardURL string
}

// Sender delivers notifications over one channel.
type Sender interface {
	Send(ctx context.Context, n Notification) error
}

// SendError is a failed send that tells the delivery loop whether and when
// to try again.
type SendError struct {
	Err error
	// Permanent failures, such as a 4xx other than 429, are not retried.
	Permanent bool
	// RetryAfter, when positive, replaces the backoff before the next try.
	RetryAfter time.Duration
}

func (e *SendError) Error() string { return e.Err.Error() }

func (e *SendError) Unwrap() error { return e.Err }

// permanent wraps err as a failure that must not be retried.
func permanent(format string, args ...any) error {
	return &SendError{Err: fmt.Errorf(format, args...), Permanent: true}
}

// retryPolicy returns whether a failed send may be retried and the wait the
// receiver asked for, zero when it asked for none.
func retryPolicy(err error) (retryable bool, retryAfter time.Duration) {
	var sendErr *SendError
	if errors.As(err, &sendErr) {
		return !sendErr.Permanent, sendErr.RetryAfter
	}

	return true, 0
}

// NewSenders builds a sender per channel of config, keyed by channel name.
func NewSenders(config Config) (map[string]Sender, error) {
	senders := make(map[string]Sender, len(config.Channels))

	for _, channel := range config.Channels {
		switch channel.Type {
		case TypeSlack:
			senders[channel.Name] = NewSlack(channel.WebhookURL, nil)
		case TypeEmail:
			email, err := NewEmail(channel)
			if err != nil {
				return nil, err
			}
			senders[channel.Name] = email
		default:
			return nil, fmt.Errorf("channel %q: unknown type %q", channel.Name, channel.Type)
		}
	}

	return senders, nil
}

// summary is the one-line text of a notification: the severity and the
// anomaly message. The detector starts every message with the rule name,
// followed by ": " or by the group key in parentheses, so the name is added
// only to a message that does not start that way.
func summary(a events.AnomalyDetected) string {
	severity := "[" + strings.ToUpper(a.Severity) + "]"
	if startsWithRuleName(a) {
		return severity + " " + a.Message
	}

	name := a.RuleName
	if name == "" {
		name = a.RuleID.String()
	}

	return fmt.Sprintf("%s %s: %s", severity, name, a.Message)
}

func startsWithRuleName(a events.AnomalyDetected) bool {
	if a.RuleName == "" {
		return false
	}

	return strings.HasPrefix(a.Message, a.RuleName+": ") || strings.HasPrefix(a.Message, a.RuleName+" (")
}

// observedText renders "observed 12 > 10".
func observedText(a events.AnomalyDetected) string {
	return fmt.Sprintf("%g %s %g", a.Observed, a.Operator, a.Threshold)
}

// windowText renders the window in event time, start exclusive.
func windowText(a events.AnomalyDetected) string {
	return fmt.Sprintf("(%s, %s]", a.WindowStart.UTC().Format(time.RFC3339), a.WindowEnd.UTC().Format(time.RFC3339))
}

func groupKeyText(a events.AnomalyDetected) string {
	if a.GroupKey == "" {
		return "(all events)"
	}

	return a.GroupKey
}
