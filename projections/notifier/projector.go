// Package notifier records the notifications each AnomalyDetected record
// calls for: one pending row of notification_deliveries per matching
// channel, written with the transaction that moves the projector's offset.
// The rows are sent by notify.Deliverer, outside the log subscriber, so a
// slow channel never holds up the log.
package notifier

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/notify"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// Name is the projector's consumer group. Renaming it creates a fresh
// group, which reads every AnomalyDetected record again; the deliveries
// already recorded keep those anomalies from being sent twice.
const Name = "projection.notifier"

// Projector records deliveries of anomalies to the configured channels.
type Projector struct {
	// Channels are the destinations with their filters.
	Channels []notify.ChannelConfig
	// Replaying records nothing, so a rebuild from the log never notifies.
	Replaying bool
}

var (
	_ projection.Projector    = Projector{}
	_ projection.Unreplayable = Projector{}
)

// UnreplayableReason implements projection.Unreplayable.
func (Projector) UnreplayableReason() string {
	return "the notifications it records are sent out of the system, and a replay must not send them again"
}

// Name implements projection.Projector.
func (Projector) Name() string { return Name }

// Handles implements projection.Projector.
func (Projector) Handles(eventName string) bool {
	return eventName == events.AnomalyDetectedName
}

// Apply inserts a pending delivery per matching channel. A delivery already
// recorded for the anomaly and channel, whatever its status, is left alone,
// which is what keeps a redelivered or replayed record from sending again.
func (p Projector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	anomaly, ok := event.(events.AnomalyDetected)
	if !ok {
		return fmt.Errorf("notifier: unexpected event %T", event)
	}

	if p.Replaying {
		return nil
	}

	var channels []string
	for _, channel := range p.Channels {
		if channel.Matches(anomaly.RuleID, anomaly.Severity) {
			channels = append(channels, channel.Name)
		}
	}

	if len(channels) == 0 {
		return nil
	}

	payload, err := json.Marshal(anomaly)
	if err != nil {
		return fmt.Errorf("error encoding anomaly %s: %w", anomaly.AnomalyID, err)
	}

	_, err = tx.Exec(ctx, `
		INSERT INTO notification_deliveries (anomaly_id, channel, rule_id, severity, anomaly, correlation_id)
		SELECT $1, channel, $2, $3, $4::jsonb, nullif($6, '') FROM unnest($5::text[]) AS channel
		ON CONFLICT (anomaly_id, channel) DO NOTHING`,
		anomaly.AnomalyID, anomaly.RuleID, anomaly.Severity, string(payload), channels, meta.CorrelationID)
	if err != nil {
		return fmt.Errorf("error recording deliveries of anomaly %s: %w", anomaly.AnomalyID, err)
	}

	return nil
}
