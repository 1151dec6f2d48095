package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/ogen-go/ogen/middleware"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// Guard authenticates API keys and checks their scopes, both for the
// ogen-generated server (as its SecurityHandler and a middleware) and for
// the hand-written routes (as chi middleware).
//
// Until the first key is created, requests without a key are served when
// they come from a loopback address and their Host header names a loopback
// host, and rejected otherwise. Once a key has been created, every request
// to a route it guards needs a valid key, even after every key has been
// revoked. The health operations and /dashboard are not guarded.
type Guard struct {
	authenticator *auth.Authenticator
	logger        *slog.Logger
}

var _ oas.SecurityHandler = (*Guard)(nil)

// NewGuard returns a Guard over authenticator.
func NewGuard(authenticator *auth.Authenticator, logger *slog.Logger) *Guard {
	if authenticator == nil || logger == nil {
		panic("handlers: NewGuard needs an authenticator and a logger")
	}

	return &Guard{authenticator: authenticator, logger: logger}
}

// HandleBearerAuth implements oas.SecurityHandler.
func (g *Guard) HandleBearerAuth(ctx context.Context, operation oas.OperationName, t oas.BearerAuth) (context.Context, error) {
	return g.authorize(ctx, t.Token, scopeOf(t.Roles, operation))
}

// HandleApiKeyHeader implements oas.SecurityHandler.
func (g *Guard) HandleApiKeyHeader(ctx context.Context, operation oas.OperationName, t oas.ApiKeyHeader) (context.Context, error) {
	return g.authorize(ctx, t.APIKey, scopeOf(t.Roles, operation))
}

// scopeOf returns the scope the spec requires for an operation.
func scopeOf(roles []string, operation string) auth.Scope {
	if len(roles) > 0 {
		return auth.Scope(roles[0])
	}

	if strings.HasPrefix(operation, "Get") || strings.HasPrefix(operation, "List") {
		return auth.ScopeRead
	}

	return auth.ScopeAdmin
}

func (g *Guard) authorize(ctx context.Context, key string, scope auth.Scope) (context.Context, error) {
	principal, err := g.authenticator.Authenticate(ctx, key)
	if errors.Is(err, auth.ErrInvalidKey) {
		return nil, Errorf(http.StatusUnauthorized, "invalid or revoked API key")
	}
	if err != nil {
		return nil, err
	}

	if !principal.Allows(scope) {
		return nil, Errorf(http.StatusForbidden, "API key %s lacks the %q scope", principal.KeyID, scope)
	}

	return auth.WithPrincipal(ctx, principal), nil
}

// Middleware is an ogen middleware that handles requests without a key:
// ogen calls the security handler only when a key is present.
func (g *Guard) Middleware(req middleware.Request, next middleware.Next) (middleware.Response, error) {
	if _, ok := auth.PrincipalFrom(req.Context); ok || !secured(req.OperationName) {
		return next(req)
	}

	if err := g.allowAnonymous(req.Context, req.Raw); err != nil {
		return middleware.Response{}, err
	}

	return next(req)
}

// RequireKeyForSpec returns chi middleware for the routes of the generated
// server: a request without a key to an operation with security is
// answered 401 or 403 before the server decodes its body, so a client
// without a key learns nothing about the body's validation. Requests with a
// key go on to the security handler. operationOf finds the operation name
// of a request, as oas.Server.FindRoute does.
func (g *Guard) RequireKeyForSpec(operationOf func(method, path string) (string, bool)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if KeyFromRequest(r) == "" {
				if operation, ok := operationOf(r.Method, r.URL.Path); ok && secured(operation) {
					if err := g.allowAnonymous(r.Context(), r); err != nil {
						g.writeError(w, r, err)
						return
					}
				}
			}

			next.ServeHTTP(w, r)
		})
	}
}

// secured reports whether the spec lists security for an operation; the
// health operations have none.
func secured(operation string) bool {
	return oas.GetRolesForBearerAuth(operation) != nil
}

func (g *Guard) allowAnonymous(ctx context.Context, r *http.Request) error {
	keyCreated, err := g.authenticator.AnyKeyCreated(ctx)
	if err != nil {
		return err
	}

	if keyCreated && queryKeyAllowed(r) {
		return Errorf(http.StatusUnauthorized,
			"missing API key: send it in the api_key query parameter, which a browser's WebSocket API needs "+
				"because it cannot set headers, or as Authorization: Bearer <key> or in the X-API-Key header")
	}

	if keyCreated {
		return Errorf(http.StatusUnauthorized,
			"missing API key: send it as Authorization: Bearer <key> or in the X-API-Key header")
	}

	if !IsLoopback(r.RemoteAddr) {
		return Errorf(http.StatusForbidden,
			"no API key exists yet, so only loopback clients are served; create one with eventpulse keys create")
	}

	if !isLoopbackHost(r.Host) {
		return Errorf(http.StatusForbidden,
			"the Host header %q is not a loopback name such as localhost, 127.0.0.1 or [::1], so the request "+
				"needs an API key; create one with eventpulse keys create", r.Host)
	}

	return nil
}

// Require returns chi middleware that lets a request through when it
// carries a key with scope, or no key while anonymous loopback access is
// allowed.
func (g *Guard) Require(scope auth.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, err := g.authorizeRequest(r, scope)
			if err != nil {
				g.writeError(w, r, err)
				return
			}

			// An anonymous request keeps its context, and copying the
			// request for it would cost an allocation.
			if ctx != r.Context() {
				r = r.WithContext(ctx)
			}

			next.ServeHTTP(w, r)
		})
	}
}

func (g *Guard) authorizeRequest(r *http.Request, scope auth.Scope) (context.Context, error) {
	if key := KeyFromRequest(r); key != "" {
		return g.authorize(r.Context(), key, scope)
	}

	if err := g.allowAnonymous(r.Context(), r); err != nil {
		return nil, err
	}

	return r.Context(), nil
}

// writeError writes the response to a request the Guard stopped. The
// Guard runs before any handler, so the 503 to a request that sends data
// states that nothing was accepted.
func (g *Guard) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := newError(r.Context(), g.logger, err)
	if status.StatusCode == http.StatusServiceUnavailable {
		status.Response.Error = guardUnavailableRead
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			status.Response.Error = guardUnavailable
		}
	}

	writeJSON(w, status.StatusCode, &status.Response)
}

// The messages of a 503 from the Guard, to a request that sends data and
// to a read.
const (
	guardUnavailable     = "the database is unavailable, so the API key could not be checked; nothing was accepted, retry later"
	guardUnavailableRead = "the database is unavailable, so the API key could not be checked; retry later"
)

// apiKeyHeader is "X-API-Key" in canonical form, which Header.Get finds
// without allocating a canonical copy of the name.
var apiKeyHeader = http.CanonicalHeaderKey("X-API-Key")

// KeyFromRequest returns the API key sent as a bearer token or in
// X-API-Key, and "" when there is none. WebSocket upgrades and requests to
// /ws may send it in the api_key query parameter instead, because the
// browser's WebSocket API cannot set headers. The
// scheme "Bearer" matches in any case, because RFC 9110 section 11.1 makes
// authentication schemes case-insensitive. The generated server matches it
// the same way.
func KeyFromRequest(r *http.Request) string {
	if token, ok := bearerToken(r.Header.Get("Authorization")); ok {
		return token
	}

	if key := strings.TrimSpace(r.Header.Get(apiKeyHeader)); key != "" {
		return key
	}

	if queryKeyAllowed(r) {
		return r.URL.Query().Get("api_key")
	}

	return ""
}

// queryKeyAllowed reports whether r may send its API key in the api_key
// query parameter: a WebSocket upgrade or a request to /ws.
func queryKeyAllowed(r *http.Request) bool {
	return r.URL.Path == "/ws" || strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// bearerToken returns the token of an Authorization value with the
// Bearer scheme, and false for any other value.
func bearerToken(authorization string) (string, bool) {
	scheme, token, found := strings.Cut(authorization, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}

	return strings.TrimSpace(token), true
}

// RejectTwoKeys is chi middleware that rejects with 400 a request carrying
// two different API keys, instead of authenticating it with either. The
// keys are those of Authorization and X-API-Key, and, on requests that may
// send it (see KeyFromRequest), the api_key query parameter. Two copies of
// one of them count as two keys too. Empty values are not keys.
func RejectTwoKeys(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headerKeys := r.Header[apiKeyHeader]
		authorizations := r.Header["Authorization"]

		// The query is parsed only when it may carry a key, so that other
		// requests cost no allocation.
		var queryKeys []string
		if strings.Contains(r.URL.RawQuery, "api_key") && queryKeyAllowed(r) {
			queryKeys = r.URL.Query()["api_key"]
		}

		if len(headerKeys)+len(authorizations)+len(queryKeys) < 2 {
			next.ServeHTTP(w, r)
			return
		}

		keys := make([]string, 0, len(headerKeys)+len(authorizations)+len(queryKeys))
		for _, key := range headerKeys {
			keys = append(keys, strings.TrimSpace(key))
		}
		for _, authorization := range authorizations {
			if token, ok := bearerToken(authorization); ok {
				keys = append(keys, token)
			}
		}
		keys = append(keys, queryKeys...)

		keys = slices.DeleteFunc(keys, func(key string) bool { return key == "" })
		slices.Sort(keys)
		if len(slices.Compact(keys)) > 1 {
			writeJSON(w, http.StatusBadRequest, &oas.Error{
				Error: "the request carries two different API keys in " +
					keySources(len(authorizations), len(headerKeys), len(queryKeys)) + "; send one key",
			})

			return
		}

		next.ServeHTTP(w, r)
	})
}

// keySources names where a request with two different keys carries them,
// from the number of Authorization headers, X-API-Key headers and api_key
// query parameters.
func keySources(authorizations, headerKeys, queryKeys int) string {
	switch {
	case queryKeys == 0 && authorizations == 0:
		return "two X-API-Key headers"
	case queryKeys == 0 && headerKeys == 0:
		return "two Authorization headers"
	case queryKeys == 0:
		return "its Authorization and X-API-Key headers"
	case authorizations == 0 && headerKeys == 0:
		return "two api_key query parameters"
	}

	var headers []string
	if authorizations > 0 {
		headers = append(headers, "Authorization")
	}
	if headerKeys > 0 {
		headers = append(headers, "X-API-Key")
	}

	noun := "header"
	if len(headers) > 1 {
		noun = "headers"
	}

	return "its " + strings.Join(headers, " and ") + " " + noun + " and the api_key query parameter"
}

// IsLoopback reports whether addr (host:port or host) is a loopback
// address.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}

	if host == "localhost" {
		return true
	}

	// netip parses without allocating, unlike net.ParseIP. An address with
	// a zone, as in "::1%lo", is not loopback here, as before, because
	// net.ParseIP rejects zones.
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return false
	}

	return ip.Unmap().IsLoopback()
}

// SessionKeys checks again the API key of an open WebSocket session, with
// the Guard's authenticator and so with its cache. It implements
// live.KeyChecker.
type SessionKeys struct {
	guard *Guard
	scope auth.Scope
}

// SessionKeys returns the checker of sessions that need scope.
func (g *Guard) SessionKeys(scope auth.Scope) SessionKeys {
	return SessionKeys{guard: g, scope: scope}
}

// KeyOf returns the key of r as KeyFromRequest finds it.
func (k SessionKeys) KeyOf(r *http.Request) string { return KeyFromRequest(r) }

// CheckKey returns the close reason of a session whose key is invalid,
// revoked or lacks the scope, and "" while the key is still good. A
// session without a key is given a reason once any key has been created,
// because from then on every request needs one.
func (k SessionKeys) CheckKey(ctx context.Context, key string) (string, error) {
	if key == "" {
		created, err := k.guard.authenticator.AnyKeyCreated(ctx)
		if err != nil || !created {
			return "", err
		}

		return "an API key is now required", nil
	}

	principal, err := k.guard.authenticator.Authenticate(ctx, key)
	if errors.Is(err, auth.ErrInvalidKey) {
		return "API key revoked or invalid", nil
	}
	if err != nil {
		return "", err
	}

	if !principal.Allows(k.scope) {
		return "API key lacks the " + string(k.scope) + " scope", nil
	}

	return "", nil
}
