package eventstable

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/eventpulse/eventpulse/events"
)

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

var copyColumns = []string{"event_id", "event_type", "source", "timestamp", "received_at", "payload", "metadata"}

// copyOrInsert writes batch into table with COPY inside a savepoint. When
// an event is there already, COPY fails as a whole, so the savepoint is
// rolled back and Insert skips the existing rows instead.
func copyOrInsert(ctx context.Context, tx pgx.Tx, table string, batch []events.IngestedEvent) error {
	err := pgx.BeginFunc(ctx, tx, func(savepoint pgx.Tx) error {
		_, err := savepoint.CopyFrom(ctx, pgx.Identifier{table}, copyColumns, pgx.CopyFromSlice(len(batch),
			func(i int) ([]any, error) {
				e := batch[i]
				return []any{pgtype.UUID{Bytes: e.EventID, Valid: true}, e.EventType, e.Source, e.Timestamp, e.ReceivedAt,
					string(e.Payload), string(e.Metadata)}, nil
			}))

		return err
	})

	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		return Insert(ctx, tx, table, batch)
	}
	if err != nil {
		return fmt.Errorf("error copying %d rows into %q: %w", len(batch), table, err)
	}

	return nil
}
