// Package apikeys builds the api_keys table that the API authenticates
// against.
package apikeys

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// Name is the projector's consumer group. Renaming it creates a fresh
// group, which replays the whole log into the api_keys table.
const Name = "projection.api_keys"

// Projector applies API key events to the api_keys table.
type Projector struct{}

var _ projection.Projector = Projector{}

// Name implements projection.Projector.
func (Projector) Name() string { return Name }

// Handles implements projection.Projector.
func (Projector) Handles(eventName string) bool {
	return eventName == events.APIKeyCreatedName || eventName == events.APIKeyRevokedName
}

// Apply implements projection.Projector; both statements are idempotent.
func (Projector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	switch e := event.(type) {
	case events.APIKeyCreated:
		_, err := tx.Exec(ctx, `
			INSERT INTO api_keys (key_id, name, scopes, secret_hash, created_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (key_id) DO NOTHING`,
			e.KeyID, e.Name, e.Scopes, e.SecretHash, meta.RecordedAt)
		if err != nil {
			return fmt.Errorf("error inserting API key %q: %w", e.KeyID, err)
		}
	case events.APIKeyRevoked:
		_, err := tx.Exec(ctx, `
			UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL`,
			e.KeyID, meta.RecordedAt)
		if err != nil {
			return fmt.Errorf("error revoking API key %q: %w", e.KeyID, err)
		}
	default:
		return fmt.Errorf("apikeys: unexpected event %T", event)
	}

	return nil
}
