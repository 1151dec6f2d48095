package projection

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Projector states reported by Overview.
const (
	StateRunning   = "running"
	StateReplaying = "replaying"
	StateFailed    = "failed"
)

// Status is a projector's place in the log and its health.
type Status struct {
	Name          string
	ConsumerGroup string
	Replayable    bool
	// Position is the offset of the last record applied.
	Position int64
	// Head is the offset of the newest record in the log.
	Head int64
	// LagRecords counts the records after Position in log order.
	LagRecords int64
	// Lag is the age of the oldest of those records, or zero when caught up.
	Lag            time.Duration
	State          string
	LastError      string
	LastErrorAt    time.Time
	LastAdvancedAt time.Time
}

// Overview returns the status of every consumer group of the log and of
// every projector of catalog, sorted by consumer group.
func Overview(ctx context.Context, pool *pgxpool.Pool, catalog Catalog) ([]Status, error) {
	groups := make([]string, 0, len(catalog.projectors))
	for _, projector := range catalog.projectors {
		groups = append(groups, projector.Name())
	}

	rows, err := pool.Query(ctx, `
		WITH groups AS (
			SELECT unnest($1::text[]) AS consumer_group
			UNION SELECT consumer_group FROM event_log_offsets
		), head AS (
			SELECT coalesce(max("offset"), 0) AS head FROM event_log
		)
		SELECT g.consumer_group, coalesce(o.offset_acked, 0), head.head, lag.records,
			coalesce(extract(epoch FROM localtimestamp - lag.oldest), 0)::float8,
			e.last_error, e.last_error_at, s.last_advanced_at
		FROM groups g
		CROSS JOIN head
		LEFT JOIN event_log_offsets o ON o.consumer_group = g.consumer_group
		LEFT JOIN projection_status s ON s.consumer_group = g.consumer_group
		LEFT JOIN projection_errors e ON e.consumer_group = g.consumer_group
		CROSS JOIN LATERAL (
			SELECT count(*) AS records, min(l.created_at) AS oldest FROM event_log l
			WHERE (l.transaction_id = coalesce(o.last_processed_transaction_id, '0')
					AND l."offset" > coalesce(o.offset_acked, 0))
				OR l.transaction_id > coalesce(o.last_processed_transaction_id, '0')
		) lag
		ORDER BY g.consumer_group`, groups)
	if err != nil {
		return nil, fmt.Errorf("error reading projection positions: %w", err)
	}

	statuses, err := pgx.CollectRows(rows, scanStatus)
	if err != nil {
		return nil, fmt.Errorf("error reading projection positions: %w", err)
	}

	for i := range statuses {
		if err := statuses[i].complete(ctx, pool, catalog); err != nil {
			return nil, err
		}
	}

	return statuses, nil
}

func scanStatus(row pgx.CollectableRow) (Status, error) {
	var s Status
	var lagSeconds float64
	var lastError *string
	var lastErrorAt, lastAdvancedAt *time.Time

	err := row.Scan(&s.ConsumerGroup, &s.Position, &s.Head, &s.LagRecords, &lagSeconds,
		&lastError, &lastErrorAt, &lastAdvancedAt)
	if err != nil {
		return s, err
	}

	s.Lag = time.Duration(max(lagSeconds, 0) * float64(time.Second))
	if lastError != nil {
		s.LastError = *lastError
	}
	if lastErrorAt != nil {
		s.LastErrorAt = *lastErrorAt
	}
	if lastAdvancedAt != nil {
		s.LastAdvancedAt = *lastAdvancedAt
	}

	return s, nil
}

// complete fills in the name, whether a replay can rebuild the projection
// and its state.
func (s *Status) complete(ctx context.Context, pool *pgxpool.Pool, catalog Catalog) error {
	s.Name = ProjectionName(s.ConsumerGroup)
	_, err := catalog.Rebuildable(s.Name)
	s.Replayable = err == nil

	replaying, err := ReplayActive(ctx, pool, s.Name)
	if err != nil {
		return err
	}

	switch {
	case replaying:
		s.State = StateReplaying
	case !s.LastErrorAt.IsZero() && s.LastErrorAt.After(s.LastAdvancedAt):
		s.State = StateFailed
	default:
		s.State = StateRunning
	}

	return nil
}
