package detector

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/detect"
	"github.com/eventpulse/eventpulse/internal/eventlog"
)

// readBackMargin is added to the read-back span of a rebuild, so records
// written while an event was in flight between the API and the log are
// read too.
const readBackMargin = time.Minute

var ruleEventNames = []string{
	events.RuleCreatedName, events.RuleReplacedName, events.RulePatchedName, events.RuleDeletedName,
}

// rebuild returns an engine in the state it reaches after every record
// before position, without emitting anything:
//
//  1. It applies every rule event before position, in log order, except that
//     the rule events read back in step 2 are applied in their place among
//     the ingested events.
//  2. It restores the windows from the EventsIngested records before
//     position written at most the longest window + lateness + cooldown of
//     any rule (plus readBackMargin) before the record at position, by the
//     database clock of the log's created_at column.
//  3. It restores cooldowns from the AnomalyDetected records the detector
//     appended for those records, including the ones appended earlier in
//     the transaction being applied, and from the rows of table caused by
//     them. The two hold the same anomalies, except during a replay, which
//     writes to a copy of table and appends nothing.
//
// Detection uses event time only; created_at only bounds how much is read.
// NOTE: an EventsIngested record written more than that span before the
// current one still matters when its events are late in event time by less
// than a window (an import paused for longer than the span and resumed).
// Such a record is not read back, so a restart at that point can miss an
// anomaly that a run without a restart finds.
func rebuild(
	ctx context.Context, tx pgx.Tx, config detect.Config, table string, before eventlog.Position,
) (*detect.Engine, error) {
	rules, err := readRecords(ctx, tx, `metadata->>'name' = ANY($3)
		AND (transaction_id, "offset") < ($1::text::xid8, $2)`, before, ruleEventNames)
	if err != nil {
		return nil, err
	}

	span := readBackMargin + maxSpan(rules)
	recent, err := readRecords(ctx, tx, `metadata->>'name' = ANY($3)
		AND (transaction_id, "offset") < ($1::text::xid8, $2)
		AND created_at >= (SELECT created_at FROM event_log
			WHERE transaction_id = $1::text::xid8 AND "offset" = $2) - make_interval(secs => $4)`,
		before, []string{events.EventsIngestedName}, span.Seconds())
	if err != nil {
		return nil, err
	}

	engine := detect.NewEngine(config)
	records := mergeByPosition(rules, recent, engine)
	causes := map[string]bool{}
	for _, record := range records {
		if applyRuleEvent(engine, record.event) {
			continue
		}

		causes[record.uuid] = true
		ingested, _ := record.event.(events.EventsIngested)
		for i := range ingested.Events {
			engine.Restore(&ingested.Events[i])
		}
	}

	if len(recent) == 0 {
		return engine, nil
	}

	if err := restoreCooldowns(ctx, tx, engine, recent[0].position, causes); err != nil {
		return nil, err
	}

	return engine, restoreDetections(ctx, tx, engine, table, causes)
}

// mergeByPosition applies the rule events before the first of recent to
// engine and returns the remaining rule events and recent in log order.
func mergeByPosition(rules, recent []record, engine *detect.Engine) []record {
	i := 0
	for ; i < len(rules) && (len(recent) == 0 || rules[i].position.Less(recent[0].position)); i++ {
		applyRuleEvent(engine, rules[i].event)
	}

	rules = rules[i:]
	merged := make([]record, 0, len(rules)+len(recent))
	for len(rules) > 0 || len(recent) > 0 {
		if len(recent) == 0 || (len(rules) > 0 && rules[0].position.Less(recent[0].position)) {
			merged, rules = append(merged, rules[0]), rules[1:]
		} else {
			merged, recent = append(merged, recent[0]), recent[1:]
		}
	}

	return merged
}

// restoreCooldowns records as fired the anomalies caused by the records in
// causes. The detector appends them after their cause, so they are read
// from the first cause onward, with no upper bound.
func restoreCooldowns(
	ctx context.Context, tx pgx.Tx, engine *detect.Engine, from eventlog.Position, causes map[string]bool,
) error {
	anomalies, err := readRecords(ctx, tx, `metadata->>'name' = ANY($3)
		AND (transaction_id, "offset") >= ($1::text::xid8, $2)`, from, []string{events.AnomalyDetectedName})
	if err != nil {
		return err
	}

	for _, record := range anomalies {
		if !causes[record.causationID] {
			continue
		}

		if anomaly, ok := record.event.(events.AnomalyDetected); ok {
			engine.RecordFired(&anomaly)
		}
	}

	return nil
}

// maxSpan returns the longest window + lateness + cooldown among every
// version of every rule in records.
func maxSpan(records []record) time.Duration {
	var longest time.Duration
	for _, record := range records {
		var spec events.RuleSpec
		switch e := record.event.(type) {
		case events.RuleCreated:
			spec = e.Spec
		case events.RuleReplaced:
			spec = e.Spec
		case events.RulePatched:
			spec = e.Spec
		default:
			continue
		}

		seconds := spec.WindowSeconds*2 + spec.CooldownSeconds
		if spec.AllowedLatenessSeconds != nil {
			seconds = spec.WindowSeconds + *spec.AllowedLatenessSeconds + spec.CooldownSeconds
		}

		longest = max(longest, time.Duration(seconds)*time.Second)
	}

	return longest
}

// record is a decoded log record read back by a rebuild.
type record struct {
	position    eventlog.Position
	uuid        string
	causationID string
	event       events.Event
}

// readRecords returns the records matching where, in log order. The query
// gets before as $1 (transaction id as text) and $2 (offset), then args.
func readRecords(
	ctx context.Context, tx pgx.Tx, where string, before eventlog.Position, args ...any,
) ([]record, error) {
	// The text column gets its own name: ORDER BY transaction_id would
	// otherwise sort by the text, where "1000" comes before "999".
	query := `SELECT transaction_id::text AS transaction_id_text, "offset", uuid, payload, metadata
		FROM event_log WHERE ` + where + ` ORDER BY event_log.transaction_id, event_log."offset"`
	args = append([]any{strconv.FormatUint(before.TransactionID, 10), before.Offset}, args...)

	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("error reading the log back: %w", err)
	}

	records, err := pgx.CollectRows(rows, scanRecord)
	if err != nil {
		return nil, fmt.Errorf("error reading the log back: %w", err)
	}

	decoded := records[:0]
	for _, r := range records {
		if r.event != nil {
			decoded = append(decoded, r)
		}
	}

	return decoded, nil
}

func scanRecord(row pgx.CollectableRow) (record, error) {
	var txID string
	var r record
	var payload, metadata []byte

	if err := row.Scan(&txID, &r.position.Offset, &r.uuid, &payload, &metadata); err != nil {
		return r, err
	}

	var err error
	if r.position.TransactionID, err = strconv.ParseUint(txID, 10, 64); err != nil {
		return r, fmt.Errorf("error parsing transaction id %q: %w", txID, err)
	}

	msg := message.NewMessage(r.uuid, payload)
	if err := json.Unmarshal(metadata, &msg.Metadata); err != nil {
		return r, fmt.Errorf("error decoding metadata of record %q: %w", r.uuid, err)
	}

	r.causationID = msg.Metadata.Get(events.MetaCausationID)

	// A record that does not decode was stored as a dead letter when it was
	// first applied, so the read-back leaves it out too.
	r.event, _ = events.Decode(msg)

	return r, nil
}
