// Package live pushes anomalies to WebSocket clients. Every API instance
// runs its own Feed, a PostgreSQL connection that LISTENs on the channel
// that a trigger on event_log notifies for each AnomalyDetected record. The
// Feed reads the record by offset and hands it to the Hub, which fans it
// out over melody.
// The log stays the only source, no process has to relay anomalies, and a
// new API instance needs nothing but the database.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/logging"
)

// NotifyChannel is the PostgreSQL channel the event_log trigger notifies
// with the offset of each AnomalyDetected record.
const NotifyChannel = "eventpulse_anomaly"

// reconnectDelay is the wait before listening again after the connection
// fails.
const reconnectDelay = time.Second

// Anomaly is the JSON message a WebSocket client receives.
type Anomaly struct {
	AnomalyID   uuid.UUID `json:"anomaly_id"`
	RuleID      uuid.UUID `json:"rule_id"`
	RuleName    string    `json:"rule_name"`
	Severity    string    `json:"severity"`
	Message     string    `json:"message"`
	DetectedAt  time.Time `json:"detected_at"`
	EventID     uuid.UUID `json:"event_id"`
	GroupKey    string    `json:"group_key"`
	Observed    float64   `json:"observed"`
	Threshold   float64   `json:"threshold"`
	Operator    string    `json:"operator"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
}

// newAnomaly returns the message of a. Its times are cut to whole
// microseconds, as pgx writes them to the anomalies table, so a client
// sees the same values over the WebSocket and from GET /api/v1/anomalies.
func newAnomaly(a events.AnomalyDetected) Anomaly {
	return Anomaly{
		AnomalyID: a.AnomalyID, RuleID: a.RuleID, RuleName: a.RuleName, Severity: a.Severity,
		Message: a.Message, DetectedAt: microseconds(a.DetectedAt), EventID: a.EventID, GroupKey: a.GroupKey,
		Observed: a.Observed, Threshold: a.Threshold, Operator: a.Operator,
		WindowStart: microseconds(a.WindowStart), WindowEnd: microseconds(a.WindowEnd),
	}
}

func microseconds(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// position is a record's place in log order: its transaction id (xid8,
// read as an integer) and then its offset.
type position struct {
	transactionID int64
	offset        int64
}

// before reports whether p comes before q in log order.
func (p position) before(q position) bool {
	if p.transactionID != q.transactionID {
		return p.transactionID < q.transactionID
	}

	return p.offset < q.offset
}

// Feed reads new AnomalyDetected records as they commit and publishes them
// to a Hub.
type Feed struct {
	pool   *pgxpool.Pool
	hub    *Hub
	logger *slog.Logger
	// last is the newest record published; after a reconnect the feed
	// reads what committed while it was not listening.
	last position
}

// NewFeed returns a feed publishing to hub every anomaly appended after
// NewFeed returns.
func NewFeed(ctx context.Context, pool *pgxpool.Pool, hub *Hub, logger *slog.Logger) (*Feed, error) {
	f := &Feed{pool: pool, hub: hub, logger: logger, last: position{}}

	err := pool.QueryRow(ctx, `
		SELECT transaction_id::text::bigint, "offset" FROM event_log
		WHERE metadata ->> 'name' = 'AnomalyDetected'
		ORDER BY event_log.transaction_id DESC, event_log."offset" DESC LIMIT 1`).Scan(&f.last.transactionID, &f.last.offset)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error reading the newest anomaly: %w", err)
	}

	return f, nil
}

// Run listens until ctx ends, reconnecting after failures. Of the failures
// in a row, only the first is logged above Debug.
func (f *Feed) Run(ctx context.Context) {
	var outage logging.Outage
	for {
		err := f.listen(ctx, func() {
			outage.Recovered(ctx, f.logger, "live: anomaly listener connected again")
		})
		if ctx.Err() != nil {
			return
		}

		outage.Failed(ctx, f.logger, "live: anomaly listener failed, reconnecting every second", slog.Any("error", err))

		select {
		case <-ctx.Done():
			return
		case <-time.After(reconnectDelay):
		}
	}
}

// listen calls connected once it listens, then publishes anomalies until
// the connection fails or ctx ends.
func (f *Feed) listen(ctx context.Context, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, f.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("error connecting the anomaly listener: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()

	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return fmt.Errorf("error listening on %s: %w", NotifyChannel, err)
	}
	connected()

	// Records that committed before LISTEN took effect are read here;
	// the ones after arrive as notifications.
	if err := f.catchUp(ctx, conn); err != nil {
		return err
	}

	for {
		notification, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("error waiting for anomalies: %w", err)
		}

		offset, err := strconv.ParseInt(notification.Payload, 10, 64)
		if err != nil {
			f.logger.ErrorContext(ctx, "live: invalid notification", slog.String("payload", notification.Payload))
			continue
		}

		if err := f.publishOffset(ctx, conn, offset); err != nil {
			return err
		}
	}
}

// catchUp publishes the records after f.last.
func (f *Feed) catchUp(ctx context.Context, conn *pgx.Conn) error {
	records, err := readAfter(ctx, conn, f.last, catchUpLimit)
	if err != nil {
		return err
	}

	for _, record := range records {
		f.publish(record)
	}

	return nil
}

func (f *Feed) publishOffset(ctx context.Context, conn *pgx.Conn, offset int64) error {
	rows, err := conn.Query(ctx, selectRecords+` WHERE "offset" = $1`, offset)
	if err != nil {
		return fmt.Errorf("error reading anomaly record at offset %d: %w", offset, err)
	}

	records, err := pgx.CollectRows(rows, scanRecord)
	if err != nil {
		return fmt.Errorf("error reading anomaly record at offset %d: %w", offset, err)
	}

	for _, record := range records {
		f.publish(record)
	}

	return nil
}

func (f *Feed) publish(r record) {
	f.last = r.position
	f.hub.publish(r)
}

// catchUpLimit bounds the records read after a reconnect or for a client's
// ?after; older ones are not sent.
const catchUpLimit = 1000

type record struct {
	position
	anomaly Anomaly
}

// selectRecords reads records. The queries that use it order by
// event_log.transaction_id, the log's key, rather than by the bigint
// column of the same name, which no index holds.
const selectRecords = `SELECT transaction_id::text::bigint, "offset", payload::text FROM event_log`

func scanRecord(row pgx.CollectableRow) (record, error) {
	var r record
	var payload string
	if err := row.Scan(&r.transactionID, &r.offset, &payload); err != nil {
		return r, err
	}

	var detected events.AnomalyDetected
	if err := json.Unmarshal([]byte(payload), &detected); err != nil {
		return r, fmt.Errorf("error decoding anomaly record at offset %d: %w", r.offset, err)
	}
	r.anomaly = newAnomaly(detected)

	return r, nil
}

// querier is a pgx.Conn or a pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readAfter returns up to limit AnomalyDetected records after p, in log
// order.
func readAfter(ctx context.Context, q querier, p position, limit int) ([]record, error) {
	rows, err := q.Query(ctx, selectRecords+`
		WHERE metadata ->> 'name' = 'AnomalyDetected'
			AND (transaction_id, "offset") > ($1::bigint::text::xid8, $2)
		ORDER BY event_log.transaction_id, event_log."offset"
		LIMIT $3`, p.transactionID, p.offset, limit)
	if err != nil {
		return nil, fmt.Errorf("error reading anomalies after offset %d: %w", p.offset, err)
	}

	records, err := pgx.CollectRows(rows, scanRecord)
	if err != nil {
		return nil, fmt.Errorf("error reading anomalies after offset %d: %w", p.offset, err)
	}

	return records, nil
}

// readLatestAfter returns the newest limit AnomalyDetected records after
// p that have one of severities (any severity when empty) and ruleID (any
// rule when uuid.Nil), in log order.
//
// NOTE: with a filter, PostgreSQL walks the anomalies after p from the
// newest until it finds limit matches, so a rare filter with an old p reads
// every anomaly since p.
func readLatestAfter(ctx context.Context, q querier, p position, limit int, severities []string, ruleID uuid.UUID) ([]record, error) {
	query := selectRecords + `
		WHERE metadata ->> 'name' = 'AnomalyDetected'
			AND (transaction_id, "offset") > ($1::bigint::text::xid8, $2)`
	args := []any{p.transactionID, p.offset, limit}

	if len(severities) > 0 {
		args = append(args, severities)
		query += fmt.Sprintf(` AND payload ->> 'severity' = ANY($%d::text[])`, len(args))
	}

	// The payload stores the rule id as the canonical lower-case text that
	// uuid.UUID.String returns.
	if ruleID != uuid.Nil {
		args = append(args, ruleID.String())
		query += fmt.Sprintf(` AND payload ->> 'rule_id' = $%d`, len(args))
	}

	query += `
		ORDER BY event_log.transaction_id DESC, event_log."offset" DESC
		LIMIT $3`

	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("error reading anomalies after offset %d: %w", p.offset, err)
	}

	records, err := pgx.CollectRows(rows, scanRecord)
	if err != nil {
		return nil, fmt.Errorf("error reading anomalies after offset %d: %w", p.offset, err)
	}

	slices.Reverse(records)

	return records, nil
}

// positionOf returns the log position of the anomaly with id.
func positionOf(ctx context.Context, q querier, id uuid.UUID) (position, error) {
	var p position
	err := q.QueryRow(ctx, `
		SELECT transaction_id::text::bigint, "offset" FROM event_log
		WHERE metadata ->> 'name' = 'AnomalyDetected' AND payload ->> 'anomaly_id' = $1
		ORDER BY event_log.transaction_id, event_log."offset" LIMIT 1`, id.String()).Scan(&p.transactionID, &p.offset)

	return p, err
}
