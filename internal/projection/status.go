package projection

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// statusFailureTimeout bounds the write of a projector's last error.
const statusFailureTimeout = 30 * time.Second

// recordAdvanced stores in tx that group applied a record now, so the time
// commits with the offset.
func recordAdvanced(ctx context.Context, tx pgx.Tx, group string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO projection_status (consumer_group, last_advanced_at) VALUES ($1, now())
		ON CONFLICT (consumer_group) DO UPDATE SET last_advanced_at = excluded.last_advanced_at`, group)
	if err != nil {
		return fmt.Errorf("error recording the progress of %q: %w", group, err)
	}

	return nil
}

// recordFailure stores cause as group's last error outside the failed
// transaction, which rolls back. It runs in the background because that
// transaction may hold the status row until the handler returns.
func recordFailure(pool *pgxpool.Pool, group string, cause error, logger *slog.Logger) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), statusFailureTimeout)
		defer cancel()

		_, err := pool.Exec(ctx, `
			INSERT INTO projection_status (consumer_group, last_error, last_error_at) VALUES ($1, $2, now())
			ON CONFLICT (consumer_group) DO UPDATE SET
				last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
			group, cause.Error())
		if err != nil {
			logger.Warn("projection: error recording a failure", slog.Any("error", err))
		}
	}()
}
