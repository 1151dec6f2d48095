// Package backtest evaluates one rule over the ingested events of the log
// with the window engine of internal/detect, as the detector would have if
// the rule had been created before those events, and returns the anomalies
// it finds without storing or notifying anything.
//
// # What is read
//
// The records are the EventsIngested records of the log in log order,
// (transaction id, offset), up to the oldest transaction still running when
// the backtest starts, so no record that could still commit before one
// already read is ever passed. They are read in batches, each in its own
// short query.
//
// # Lead-in
//
// An anomaly at time t depends on the events of (t - window, t], on the
// newest event time for lateness, and on the anomalies of
// (t - cooldown, t]. Events with a time from From - window - lateness -
// cooldown on are therefore fed to the engine; anomalies before From only
// set cooldowns and are not returned. Windows and lateness decisions at or
// after From are then exactly those of a live rule. Cooldowns are exact as
// well when the rule did not fire in the lead-in, or when the lead-in
// starts before the first matching event; otherwise an anomaly of a live
// rule that fired just before the lead-in can shift the cooldowns that
// follow, which a backtest cannot see.
//
// Events after To are fed to the engine too, because they move the newest
// event time and so decide which later records' events are late; their
// anomalies are not returned either.
//
// # Skipping old records
//
// The event time of an event is at most received_at + the future
// tolerance, and the API stamps received_at before the record is written,
// so a record whose created_at is earlier than the lead-in start minus the
// future tolerance and RecordSkew holds no event the engine needs. Such
// records are not read.
package backtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/detect"
	"github.com/eventpulse/eventpulse/internal/eventlog"
)

// Bounds of a backtest.
const (
	// MaxEventsDefault is how many events a backtest reads at most unless
	// Request.MaxEvents sets a lower bound.
	MaxEventsDefault = 10_000_000
	// MaxAnomalies is how many anomalies a backtest returns at most.
	MaxAnomalies = 10_000
	// BatchSize is how many log records one query reads.
	BatchSize = 200
	// RecordSkew is how far the clock that stamps received_at may be ahead
	// of the database clock that stamps a record's created_at.
	RecordSkew = time.Hour
)

// Request is one backtest.
type Request struct {
	RuleID      uuid.UUID
	RuleVersion int
	Spec        events.RuleSpec
	// From and To bound the detected_at of the anomalies returned,
	// inclusive.
	From, To time.Time
	// MaxEvents bounds the events read. Default: MaxEventsDefault.
	MaxEvents int64
	// Config is the engine's configuration; the detector's by default.
	Config detect.Config
}

// Result is the outcome of a backtest.
type Result struct {
	// Anomalies are those with detected_at in [From, To], in the order the
	// engine raised them.
	Anomalies []events.AnomalyDetected
	// EventsRead counts the events of the records read.
	EventsRead int64
	// EventsScanned counts the events with a time in [From, To].
	EventsScanned int64
	// Late counts the events with a time in [From, To] that matched the
	// rule and were skipped as late.
	Late int64
	// Truncated is true when reading stopped at MaxEvents or MaxAnomalies.
	Truncated bool
}

// ErrInvalidRange is returned when From is after To.
var ErrInvalidRange = errors.New("from must not be after to")

// Run evaluates the request's rule over the log.
func Run(ctx context.Context, pool *pgxpool.Pool, req Request) (Result, error) {
	if req.From.After(req.To) {
		return Result{}, ErrInvalidRange
	}

	maxEvents := cmp.Or(req.MaxEvents, MaxEventsDefault)
	engine := detect.NewEngine(req.Config)
	engine.SetRule(req.RuleID, req.RuleVersion, req.Spec)

	tolerance := cmp.Or(req.Config.FutureTolerance, detect.FutureToleranceDefault)
	start := req.From.Add(-leadIn(req.Spec))
	fromNano, toNano, startNano := req.From.UnixNano(), req.To.UnixNano(), start.UnixNano()

	var horizon string
	err := pool.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&horizon)
	if err != nil {
		return Result{}, fmt.Errorf("error reading the log horizon: %w", err)
	}

	reader := reader{pool: pool, horizon: horizon, createdFrom: start.Add(-tolerance - RecordSkew)}
	var result Result
	for {
		if err := ctx.Err(); err != nil {
			return result, err
		}

		batch, done, err := reader.next(ctx)
		if err != nil {
			return result, err
		}

		for i := range batch {
			for j := range batch[i].Events {
				result.observe(engine, &batch[i].Events[j], tolerance, startNano, fromNano, toNano)
			}

			if result.EventsRead >= maxEvents || len(result.Anomalies) >= MaxAnomalies {
				result.Truncated = i < len(batch)-1
				if !result.Truncated && !done {
					rest, _, err := reader.next(ctx)
					if err != nil {
						return result, err
					}
					result.Truncated = len(rest) > 0
				}

				return result, nil
			}
		}

		if done {
			return result, nil
		}
	}
}

// observe feeds one event to engine when its time is at or after the
// lead-in start and keeps the anomalies and counts of [from, to].
func (result *Result) observe(
	engine *detect.Engine, event *events.IngestedEvent, tolerance time.Duration, startNano, fromNano, toNano int64,
) {
	result.EventsRead++

	at := detect.EventTime(event, tolerance).UnixNano()
	if at < startNano {
		return
	}

	late := engine.Stats().Late
	for _, anomaly := range engine.Observe(event) {
		if detected := anomaly.DetectedAt.UnixNano(); detected >= fromNano && detected <= toNano {
			result.Anomalies = append(result.Anomalies, anomaly)
		}
	}

	if at >= fromNano && at <= toNano {
		result.EventsScanned++
		result.Late += engine.Stats().Late - late
	}
}

// leadIn returns how long before From events are still evaluated.
func leadIn(spec events.RuleSpec) time.Duration {
	lateness := spec.WindowSeconds
	if spec.AllowedLatenessSeconds != nil {
		lateness = *spec.AllowedLatenessSeconds
	}

	return time.Duration(spec.WindowSeconds+lateness+spec.CooldownSeconds) * time.Second
}

// reader reads the EventsIngested records of the log in batches.
type reader struct {
	pool *pgxpool.Pool
	// horizon is the oldest transaction id that was running at the start;
	// records at or past it are not read.
	horizon     string
	createdFrom time.Time
	after       eventlog.Position
}

// next returns the next batch of records and whether it reached the end
// of what there is to read. Records that do not decode are left out, as
// the detector leaves them out.
func (r *reader) next(ctx context.Context) ([]events.EventsIngested, bool, error) {
	// The text column gets its own name: ORDER BY transaction_id would
	// otherwise sort by the text, where "1000" comes before "999".
	rows, err := r.pool.Query(ctx, `SELECT transaction_id::text AS transaction_id_text, "offset", uuid, payload, metadata
		FROM event_log
		WHERE metadata->>'name' = $1
			AND (transaction_id, "offset") > ($2::text::xid8, $3)
			AND transaction_id < $4::text::xid8
			AND created_at >= $5::timestamptz
		ORDER BY event_log.transaction_id, event_log."offset"
		LIMIT $6`,
		events.EventsIngestedName, strconv.FormatUint(r.after.TransactionID, 10), r.after.Offset,
		r.horizon, r.createdFrom, BatchSize)
	if err != nil {
		return nil, false, fmt.Errorf("error reading the log: %w", err)
	}
	defer rows.Close()

	var batch []events.EventsIngested
	var n int
	for rows.Next() {
		var txID, id string
		var offset int64
		var payload, metadata []byte
		if err := rows.Scan(&txID, &offset, &id, &payload, &metadata); err != nil {
			return nil, false, fmt.Errorf("error reading the log: %w", err)
		}

		n++
		position, err := strconv.ParseUint(txID, 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("error parsing transaction id %q: %w", txID, err)
		}
		r.after = eventlog.Position{TransactionID: position, Offset: offset}

		msg := message.NewMessage(id, payload)
		if err := json.Unmarshal(metadata, &msg.Metadata); err != nil {
			continue
		}

		if ingested, err := events.Decode(msg); err == nil {
			if record, ok := ingested.(events.EventsIngested); ok {
				batch = append(batch, record)
			}
		}
	}

	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("error reading the log: %w", err)
	}

	return batch, n < BatchSize, nil
}
