package eventlog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// GroupLag is how far one consumer group is behind the log.
type GroupLag struct {
	ConsumerGroup string
	// Records counts the records after the last one the group applied, in
	// log order: by transaction id, then offset. Offsets alone do not
	// order records that concurrent transactions appended. It is exact once
	// every transaction that wrote them has committed.
	Records int64
}

// Lags returns the lag of every consumer group, sorted by group name.
func Lags(ctx context.Context, pool *pgxpool.Pool) ([]GroupLag, error) {
	rows, err := pool.Query(ctx, `
		SELECT o.consumer_group,
			(SELECT count(*) FROM event_log l
				WHERE (l.transaction_id, l."offset") >
					(coalesce(o.last_processed_transaction_id, '0'), coalesce(o.offset_acked, 0)))
		FROM event_log_offsets o
		ORDER BY o.consumer_group`)
	if err != nil {
		return nil, fmt.Errorf("error reading consumer group offsets: %w", err)
	}

	lags, err := pgx.CollectRows(rows, pgx.RowToStructByPos[GroupLag])
	if err != nil {
		return nil, fmt.Errorf("error reading consumer group offsets: %w", err)
	}

	return lags, nil
}
