package auth

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
)

// KeysInLog reports whether the log holds a key that was created and not
// revoked. It reads the log rather than the api_keys table, so it is right
// at start-up before the projection has caught up.
func KeysInLog(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var exists bool
	err := pool.QueryRow(ctx, `
		SELECT EXISTS (
			SELECT 1 FROM event_log created
			WHERE created.metadata->>'name' = $1
			AND NOT EXISTS (
				SELECT 1 FROM event_log revoked
				WHERE revoked.metadata->>'name' = $2
				AND revoked.payload->>'key_id' = created.payload->>'key_id'))`,
		events.APIKeyCreatedName, events.APIKeyRevokedName).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("error checking the log for API keys: %w", err)
	}

	return exists, nil
}
