// Package anomalies builds the anomalies read table from AnomalyDetected
// records.
package anomalies

import (
	"cmp"
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// Name is the projector's consumer group. Renaming it creates a fresh
// group, which replays the whole log into the anomalies table.
const Name = "projection.anomalies"

// Projector writes each AnomalyDetected record as a row of the anomalies
// table.
type Projector struct {
	// Table is the table written: Table unless a replay builds a copy.
	Table string
}

// Table is the read table the projector writes by default.
const Table = "anomalies"

var _ projection.Rebuildable = Projector{}

// Tables implements projection.Rebuildable.
func (Projector) Tables() []string { return []string{Table} }

// WithTables implements projection.Rebuildable.
func (Projector) WithTables(tables map[string]string) projection.Projector {
	return Projector{Table: tables[Table]}
}

// Name implements projection.Projector.
func (Projector) Name() string { return Name }

// Handles implements projection.Projector.
func (Projector) Handles(eventName string) bool {
	return eventName == events.AnomalyDetectedName
}

// Apply inserts the anomaly. A row with the same id is left alone: the
// detector gives an anomaly the same id when a replay finds it again.
func (p Projector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, _ projection.Meta) error {
	a, ok := event.(events.AnomalyDetected)
	if !ok {
		return fmt.Errorf("anomalies: unexpected event %T", event)
	}

	sample := a.SampleEventIDs
	if sample == nil {
		sample = []uuid.UUID{}
	}

	_, err := tx.Exec(ctx, `INSERT INTO `+pgx.Identifier{cmp.Or(p.Table, Table)}.Sanitize()+` (anomaly_id, rule_id, rule_version, rule_name, severity,
			group_key, observed, threshold, operator, window_start, window_end, event_id,
			sample_event_ids, message, detected_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (anomaly_id) DO NOTHING`,
		a.AnomalyID, a.RuleID, a.RuleVersion, a.RuleName, a.Severity, a.GroupKey, a.Observed,
		a.Threshold, a.Operator, a.WindowStart, a.WindowEnd, a.EventID, sample, a.Message, a.DetectedAt)
	if err != nil {
		return fmt.Errorf("error inserting anomaly %q: %w", a.AnomalyID, err)
	}

	return nil
}
