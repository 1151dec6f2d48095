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
type Projector struct {
	// Table is the table written: "api_keys" unless a replay builds a copy.
	Table string
}

var _ projection.Rebuildable = Projector{}

// Tables implements projection.Rebuildable.
func (Projector) Tables() []string { return []string{"api_keys"} }

// WholeLogOnly implements projection.WholeLogOnly: a table without the
// earlier keys would let requests without a key through.
func (Projector) WholeLogOnly() bool { return true }

// WithTables implements projection.Rebuildable.
func (Projector) WithTables(tables map[string]string) projection.Projector {
	return Projector{Table: tables["api_keys"]}
}

func (p Projector) table() string {
	if p.Table == "" {
		return "api_keys"
	}

	return p.Table
}

// Name implements projection.Projector.
func (Projector) Name() string { return Name }

// Handles implements projection.Projector.
func (Projector) Handles(eventName string) bool {
	return eventName == events.APIKeyCreatedName || eventName == events.APIKeyRevokedName
}

// Apply implements projection.Projector; both statements are idempotent.
func (p Projector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	table := pgx.Identifier{p.table()}.Sanitize()

	switch e := event.(type) {
	case events.APIKeyCreated:
		_, err := tx.Exec(ctx, `
			INSERT INTO `+table+` (key_id, name, scopes, secret_hash, created_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (key_id) DO NOTHING`,
			e.KeyID, e.Name, e.Scopes, e.SecretHash, meta.RecordedAt)
		if err != nil {
			return fmt.Errorf("error inserting API key %q: %w", e.KeyID, err)
		}
	case events.APIKeyRevoked:
		_, err := tx.Exec(ctx, `
			UPDATE `+table+` SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL`,
			e.KeyID, meta.RecordedAt)
		if err != nil {
			return fmt.Errorf("error revoking API key %q: %w", e.KeyID, err)
		}
	default:
		return fmt.Errorf("apikeys: unexpected event %T", event)
	}

	return nil
}
