// Package auth authenticates API keys, checks their scopes and limits how
// fast each key may ingest.
//
// A key reads "ep_<key id, 32 hex digits>_<secret>". Only the SHA-256 of the
// secret is stored, in the log and in the api_keys table. The secret is 32
// random bytes, so a plain hash resists guessing without a slow KDF.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Scope is a permission carried by a key.
type Scope string

// Scopes.
const (
	// ScopeIngest allows sending events.
	ScopeIngest Scope = "ingest"
	// ScopeRead allows every read.
	ScopeRead Scope = "read"
	// ScopeAdmin allows rule changes, replays, and requeuing and deleting
	// dead letters, and everything the other scopes allow.
	ScopeAdmin Scope = "admin"
)

const keyPrefix = "ep_"

// ParseScope returns the scope named s.
func ParseScope(s string) (Scope, error) {
	switch scope := Scope(strings.TrimSpace(s)); scope {
	case ScopeIngest, ScopeRead, ScopeAdmin:
		return scope, nil
	default:
		return "", fmt.Errorf("invalid scope %q: use ingest, read or admin", s)
	}
}

// NewKey returns a new key id, the key to give to the client once, and the
// hash to store.
func NewKey() (uuid.UUID, string, []byte, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return uuid.Nil, "", nil, fmt.Errorf("error generating key secret: %w", err)
	}

	id := uuid.New()
	encoded := base64.RawURLEncoding.EncodeToString(secret)
	key := keyPrefix + hex.EncodeToString(id[:]) + "_" + encoded

	return id, key, HashSecret(encoded), nil
}

// ParseKey splits key into its id and secret; ok is false when key does not
// have the form of an EventPulse key.
func ParseKey(key string) (id uuid.UUID, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, keyPrefix)
	if !found {
		return uuid.Nil, "", false
	}

	idHex, secret, found := strings.Cut(rest, "_")
	if !found || len(idHex) != 32 || secret == "" {
		return uuid.Nil, "", false
	}

	raw, err := hex.DecodeString(idHex)
	if err != nil {
		return uuid.Nil, "", false
	}

	copy(id[:], raw)

	return id, secret, true
}

// HashSecret returns the stored form of a key's secret.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
