package events

import "github.com/google/uuid"

// Wire names of API key events.
const (
	APIKeyCreatedName = "APIKeyCreated"
	APIKeyRevokedName = "APIKeyRevoked"
)

// APIKeyCreated records a new API key. Only a hash of the key's secret is
// stored; the key itself is shown once, when it is created.
type APIKeyCreated struct {
	KeyID  uuid.UUID `json:"key_id"`
	Name   string    `json:"name"`
	Scopes []string  `json:"scopes"`
	// SecretHash is the SHA-256 of the key's secret part.
	SecretHash []byte `json:"secret_hash"`
}

// APIKeyRevoked records that a key no longer authenticates.
type APIKeyRevoked struct {
	KeyID uuid.UUID `json:"key_id"`
}

// EventName implements Event.
func (APIKeyCreated) EventName() string { return APIKeyCreatedName }

// SchemaVersion implements Event.
func (APIKeyCreated) SchemaVersion() int { return 1 }

// EventName implements Event.
func (APIKeyRevoked) EventName() string { return APIKeyRevokedName }

// SchemaVersion implements Event.
func (APIKeyRevoked) SchemaVersion() int { return 1 }
