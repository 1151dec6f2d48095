package auth

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
)

// KeyCreatedInLog reports whether the log holds an APIKeyCreated record,
// whether or not the key was revoked later. It reads the log rather than
// the api_keys table, so it is right at start-up before the projection has
// caught up.
func KeyCreatedInLog(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var created bool
	err := pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM event_log WHERE metadata->>'name' = $1)`,
		events.APIKeyCreatedName).Scan(&created)
	if err != nil {
		return false, fmt.Errorf("error checking the log for API keys: %w", err)
	}

	return created, nil
}
