package eventlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrLogAhead is returned by CheckPositions when the log or an offset holds
// a transaction id that this PostgreSQL cluster has not reached yet.
var ErrLogAhead = errors.New("event log is ahead of the PostgreSQL transaction counter")

// CheckPositions verifies that every position stored in the log and in the
// offsets is behind the cluster's transaction counter.
//
// Positions are (transaction id, offset) pairs, and readers skip records
// whose transaction id is not below the oldest running transaction. A dump
// restored into another cluster keeps the old cluster's transaction ids, so
// if that cluster was further ahead, projectors would stall on the restored
// records and skip every new one. Workers run this check before starting.
func CheckPositions(ctx context.Context, pool *pgxpool.Pool) error {
	var highest, next string
	var ahead bool

	err := pool.QueryRow(ctx, `
		WITH positions AS (
			SELECT greatest(
				(SELECT max(transaction_id) FROM event_log),
				(SELECT max(last_processed_transaction_id) FROM event_log_offsets),
				'0'::xid8) AS highest
		)
		SELECT highest::text, pg_snapshot_xmax(pg_current_snapshot())::text,
			highest >= pg_snapshot_xmax(pg_current_snapshot())
		FROM positions`).Scan(&highest, &next, &ahead)
	if err != nil {
		return fmt.Errorf("error reading log positions: %w", err)
	}

	if ahead {
		return fmt.Errorf("%w: the log or event_log_offsets contains transaction id %s but the next one "+
			"of this cluster is %s, which happens when a dump is restored into another cluster; "+
			"stop PostgreSQL and raise its epoch with pg_resetwal -e as docs/operations.md describes",
			ErrLogAhead, highest, next)
	}

	return nil
}
