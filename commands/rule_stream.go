package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
)

// Querier runs a query; *pgxpool.Pool and pgx.Tx are both one.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var _ Querier = pgx.Tx(nil)

// RuleRecord is one record of a rule's stream.
type RuleRecord struct {
	Event    events.Event
	Envelope events.Envelope
}

// RuleState is a rule as its stream leaves it.
type RuleState struct {
	RuleID    uuid.UUID       `json:"rule_id"`
	Version   int             `json:"version"`
	Spec      events.RuleSpec `json:"spec"`
	Deleted   bool            `json:"deleted"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Exists reports whether the rule was created and not deleted.
func (s RuleState) Exists() bool { return s.Version > 0 && !s.Deleted }

// Apply returns the state after record.
func (s RuleState) Apply(record RuleRecord) RuleState {
	at := record.Envelope.RecordedAt

	switch e := record.Event.(type) {
	case events.RuleCreated:
		s = RuleState{RuleID: e.RuleID, Version: e.Version, Spec: e.Spec, CreatedAt: at, UpdatedAt: at}
	case events.RuleReplaced:
		s.Version, s.Spec, s.UpdatedAt = e.Version, e.Spec, at
	case events.RulePatched:
		s.Version, s.Spec, s.UpdatedAt = e.Version, e.Spec, at
	case events.RuleDeleted:
		s.Version, s.Deleted, s.UpdatedAt = e.Version, true, at
	}

	return s
}

// FoldRule returns the state after every record, in order.
func FoldRule(records []RuleRecord) RuleState {
	var state RuleState
	for _, record := range records {
		state = state.Apply(record)
	}

	return state
}

// LoadRuleStream reads every record of the rule's stream in version order.
func LoadRuleStream(ctx context.Context, q Querier, ruleID uuid.UUID) ([]RuleRecord, error) {
	rows, err := q.Query(ctx, `
		SELECT uuid, payload, metadata
		FROM event_log
		WHERE metadata ->> 'stream_id' = $1
		ORDER BY (metadata ->> 'stream_version')::int`, ruleID.String())
	if err != nil {
		return nil, fmt.Errorf("error loading stream of rule %q: %w", ruleID, err)
	}

	records, err := pgx.CollectRows(rows, scanRuleRecord)
	if err != nil {
		return nil, fmt.Errorf("error loading stream of rule %q: %w", ruleID, err)
	}

	return records, nil
}

func scanRuleRecord(row pgx.CollectableRow) (RuleRecord, error) {
	var id string
	var payload []byte
	var metadata map[string]string

	if err := row.Scan(&id, &payload, &metadata); err != nil {
		return RuleRecord{}, err
	}

	msg := message.NewMessage(id, payload)
	for key, value := range metadata {
		msg.Metadata.Set(key, value)
	}

	event, err := events.Decode(msg)
	if err != nil {
		return RuleRecord{}, err
	}

	return RuleRecord{Event: event, Envelope: events.EnvelopeOf(msg)}, nil
}
