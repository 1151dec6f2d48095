package auth

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
)

// Principal is the key a request authenticated with.
type Principal struct {
	KeyID  uuid.UUID
	Name   string
	Scopes []Scope
}

// Allows reports whether the key grants scope; admin grants every scope.
func (p Principal) Allows(scope Scope) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, ScopeAdmin)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ActorFrom returns the key id of the request in ctx, or
// events.ActorAnonymous when it carries no key.
func ActorFrom(ctx context.Context) string {
	if p, ok := PrincipalFrom(ctx); ok {
		return p.KeyID.String()
	}

	return events.ActorAnonymous
}
