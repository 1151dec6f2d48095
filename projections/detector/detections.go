package detector

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/detect"
)

// insertDetections writes found, caused by the record causeID, to table (a
// quoted name). A row that exists already is kept: anomaly ids are
// deterministic, so it holds the same finding.
func insertDetections(ctx context.Context, tx pgx.Tx, table string, found []finding, causeID string) error {
	cause, err := uuid.Parse(causeID)
	if err != nil {
		return fmt.Errorf("detector: invalid record id %q: %w", causeID, err)
	}

	ids := make([]uuid.UUID, len(found))
	rules := make([]uuid.UUID, len(found))
	versions := make([]int32, len(found))
	keys := make([]string, len(found))
	eventIDs := make([]uuid.UUID, len(found))
	times := make([]time.Time, len(found))

	for i, a := range found {
		ids[i], rules[i], versions[i], keys[i], eventIDs[i], times[i] =
			a.AnomalyID, a.RuleID, int32(a.RuleVersion), a.GroupKey, a.EventID, a.DetectedAt
	}

	_, err = tx.Exec(ctx, `
		INSERT INTO `+table+` (anomaly_id, rule_id, rule_version, group_key, event_id, detected_at, cause_record_id)
		SELECT *, $7::uuid FROM unnest($1::uuid[], $2::uuid[], $3::integer[], $4::text[], $5::uuid[],
			$6::timestamptz[])
		ON CONFLICT (anomaly_id) DO NOTHING`,
		ids, rules, versions, keys, eventIDs, times, cause)
	if err != nil {
		return fmt.Errorf("error recording %d detections of record %s in %s: %w", len(found), cause, table, err)
	}

	return nil
}

// restoreDetections records as fired the rows of table (a quoted name)
// caused by the records in causes.
func restoreDetections(ctx context.Context, tx pgx.Tx, engine *detect.Engine, table string, causes map[string]bool) error {
	ids := make([]string, 0, len(causes))
	for id := range causes {
		ids = append(ids, id)
	}

	rows, err := tx.Query(ctx, `
		SELECT rule_id, rule_version, group_key, detected_at FROM `+table+`
		WHERE cause_record_id = ANY($1::uuid[])
		ORDER BY detected_at, anomaly_id`, ids)
	if err != nil {
		return fmt.Errorf("error reading detections back from %s: %w", table, err)
	}

	var a events.AnomalyDetected
	_, err = pgx.ForEachRow(rows, []any{&a.RuleID, &a.RuleVersion, &a.GroupKey, &a.DetectedAt}, func() error {
		engine.RecordFired(&a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("error reading detections back from %s: %w", table, err)
	}

	return nil
}
