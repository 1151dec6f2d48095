package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CacheTTLDefault is how long the result of a key lookup, and a negative
// result of the check for any created key, is reused. A revoked key stops
// working within this time.
const CacheTTLDefault = 2 * time.Second

// Errors of Authenticate.
var (
	// ErrInvalidKey covers a malformed, unknown, wrong or revoked key, so
	// the error does not reveal which keys exist.
	ErrInvalidKey = errors.New("invalid API key")
)

// Authenticator checks keys against the api_keys table.
type Authenticator struct {
	pool *pgxpool.Pool
	ttl  time.Duration
	now  func() time.Time

	mu         sync.Mutex
	keys       map[uuid.UUID]cachedKey
	anyKey     bool
	anyKeyTime time.Time
}

type cachedKey struct {
	principal  Principal
	secretHash []byte
	found      bool
	loadedAt   time.Time
}

// NewAuthenticator returns an Authenticator over pool.
func NewAuthenticator(pool *pgxpool.Pool) *Authenticator {
	if pool == nil {
		panic("auth: NewAuthenticator needs a pool")
	}

	return &Authenticator{pool: pool, ttl: CacheTTLDefault, now: time.Now, keys: map[uuid.UUID]cachedKey{}}
}

// AnyKeyCreated reports whether any key has been created, revoked keys
// included. Until one has, the API serves loopback clients without a key.
// A true result is kept for the life of the Authenticator, because no row
// of api_keys is ever deleted. A revocation only sets revoked_at, and a
// replay rebuilds the table from the whole log. A false result is reused
// for the cache TTL.
func (a *Authenticator) AnyKeyCreated(ctx context.Context) (bool, error) {
	a.mu.Lock()
	if a.anyKey || a.now().Sub(a.anyKeyTime) < a.ttl {
		created := a.anyKey
		a.mu.Unlock()
		return created, nil
	}
	a.mu.Unlock()

	var created bool
	err := a.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys)`).Scan(&created)
	if err != nil {
		return false, fmt.Errorf("error checking for API keys: %w", err)
	}

	a.mu.Lock()
	a.anyKey, a.anyKeyTime = created, a.now()
	a.mu.Unlock()

	return created, nil
}

// Authenticate returns the principal of key, or ErrInvalidKey.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (Principal, error) {
	id, secret, ok := ParseKey(key)
	if !ok {
		return Principal{}, ErrInvalidKey
	}

	cached, err := a.lookup(ctx, id)
	if err != nil {
		return Principal{}, err
	}

	if !cached.found || subtle.ConstantTimeCompare(cached.secretHash, HashSecret(secret)) != 1 {
		return Principal{}, ErrInvalidKey
	}

	return cached.principal, nil
}

func (a *Authenticator) lookup(ctx context.Context, id uuid.UUID) (cachedKey, error) {
	a.mu.Lock()
	cached, ok := a.keys[id]
	a.mu.Unlock()

	if ok && a.now().Sub(cached.loadedAt) < a.ttl {
		return cached, nil
	}

	cached = cachedKey{loadedAt: a.now(), principal: Principal{KeyID: id}}
	var scopes []string

	err := a.pool.QueryRow(ctx, `
		SELECT name, scopes, secret_hash FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL`, id,
	).Scan(&cached.principal.Name, &scopes, &cached.secretHash)

	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return cachedKey{}, fmt.Errorf("error looking up API key %q: %w", id, err)
	default:
		cached.found = true
		for _, scope := range scopes {
			cached.principal.Scopes = append(cached.principal.Scopes, Scope(scope))
		}
	}

	a.mu.Lock()
	if len(a.keys) > 10_000 {
		clear(a.keys)
	}
	a.keys[id] = cached
	a.mu.Unlock()

	return cached, nil
}
