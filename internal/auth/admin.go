package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
)

// Errors returned by RevokeKey.
var (
	ErrKeyNotFound       = errors.New("API key not found")
	ErrKeyAlreadyRevoked = errors.New("API key is already revoked")
)

// KeyInfo describes a key without its secret.
type KeyInfo struct {
	KeyID     uuid.UUID
	Name      string
	Scopes    []string
	CreatedAt time.Time
	// RevokedAt is zero for a key in use.
	RevokedAt time.Time
}

// CreateKey appends an APIKeyCreated record and returns the new key, which
// is never stored and cannot be shown again.
func CreateKey(ctx context.Context, pool *pgxpool.Pool, name string, scopes []Scope, actor string) (uuid.UUID, string, error) {
	if name == "" || len(scopes) == 0 {
		return uuid.Nil, "", errors.New("a key needs a name and at least one scope")
	}

	if events.IsBlank(name) {
		return uuid.Nil, "", fmt.Errorf("invalid key name %+q: must not be blank", name)
	}

	// A scope given twice is stored once.
	unique := make([]Scope, 0, len(scopes))
	for _, scope := range scopes {
		if !slices.Contains(unique, scope) {
			unique = append(unique, scope)
		}
	}
	scopes = unique

	// Key names are printed one per line by keys list, where a line break
	// or a tab would forge or shift a row.
	if !utf8.ValidString(name) || !events.PrintableName(name) {
		return uuid.Nil, "", fmt.Errorf("invalid key name %q: %s", name, events.UnprintableReason(name))
	}

	id, key, hash, err := NewKey()
	if err != nil {
		return uuid.Nil, "", err
	}

	names := make([]string, len(scopes))
	for i, scope := range scopes {
		names[i] = string(scope)
	}

	event := events.APIKeyCreated{KeyID: id, Name: name, Scopes: names, SecretHash: hash}
	if err := appendRecord(ctx, pool, event, actor); err != nil {
		return uuid.Nil, "", err
	}

	return id, key, nil
}

// RevokeKey appends an APIKeyRevoked record for a key in use.
func RevokeKey(ctx context.Context, pool *pgxpool.Pool, id uuid.UUID, actor string) error {
	keys, err := ListKeys(ctx, pool)
	if err != nil {
		return err
	}

	for _, key := range keys {
		if key.KeyID != id {
			continue
		}

		if !key.RevokedAt.IsZero() {
			return fmt.Errorf("error revoking key %q: %w since %s", id, ErrKeyAlreadyRevoked,
				key.RevokedAt.UTC().Format(time.RFC3339))
		}

		return appendRecord(ctx, pool, events.APIKeyRevoked{KeyID: id}, actor)
	}

	return fmt.Errorf("error revoking key %q: %w", id, ErrKeyNotFound)
}

// ListKeys reads every key from the log, oldest first.
func ListKeys(ctx context.Context, pool *pgxpool.Pool) ([]KeyInfo, error) {
	rows, err := pool.Query(ctx, `
		SELECT metadata->>'name', payload, metadata->>'recorded_at'
		FROM event_log
		WHERE metadata->>'name' IN ($1, $2)
		ORDER BY transaction_id, "offset"`, events.APIKeyCreatedName, events.APIKeyRevokedName)
	if err != nil {
		return nil, fmt.Errorf("error reading API keys from the log: %w", err)
	}
	defer rows.Close()

	var keys []KeyInfo
	index := map[uuid.UUID]int{}

	for rows.Next() {
		var name, recordedAt string
		var payload []byte
		if err := rows.Scan(&name, &payload, &recordedAt); err != nil {
			return nil, fmt.Errorf("error reading API keys from the log: %w", err)
		}

		at, _ := time.Parse(time.RFC3339Nano, recordedAt)
		keys = applyKeyRecord(keys, index, name, payload, at)
	}

	return keys, rows.Err()
}

func applyKeyRecord(keys []KeyInfo, index map[uuid.UUID]int, name string, payload []byte, at time.Time) []KeyInfo {
	switch name {
	case events.APIKeyCreatedName:
		var created events.APIKeyCreated
		if json.Unmarshal(payload, &created) == nil {
			index[created.KeyID] = len(keys)
			keys = append(keys, KeyInfo{KeyID: created.KeyID, Name: created.Name, Scopes: created.Scopes, CreatedAt: at})
		}
	case events.APIKeyRevokedName:
		var revoked events.APIKeyRevoked
		if json.Unmarshal(payload, &revoked) == nil {
			if i, ok := index[revoked.KeyID]; ok {
				keys[i].RevokedAt = at
			}
		}
	}

	return keys
}

func appendRecord(ctx context.Context, pool *pgxpool.Pool, event events.Event, actor string) error {
	id := uuid.NewString()
	msg, err := events.NewMessage(event, events.Envelope{
		CorrelationID: id,
		CausationID:   id,
		Actor:         actor,
		RecordedAt:    time.Now(),
	})
	if err != nil {
		return err
	}

	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return eventlog.Append(ctx, tx, msg)
	})
}
