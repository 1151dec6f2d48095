package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// CheckOrigin returns middleware that rejects browser requests from other
// origins with 403. A request without an Origin header (not a browser), a
// same-origin request, and a request from one of origins pass. It guards the
// WebSocket endpoint, which browsers open from any page without CORS.
// Origins are compared in the form config.ParseOrigin returns.
func CheckOrigin(origins []string) func(http.Handler) http.Handler {
	allowed := newOriginSet(origins)

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" || allowed.contains(origin) || sameOrigin(origin, r.Host) {
				next.ServeHTTP(w, r)
				return
			}

			writeJSON(w, http.StatusForbidden, &oas.Error{Error: "origin " + origin + " is not allowed; add it to EVENTPULSE_CORS_ORIGINS"})
		})
	}
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, host)
}

// originSet is a set of origins in the form config.ParseOrigin returns.
type originSet map[string]struct{}

// newOriginSet normalizes origins with config.ParseOrigin and skips those
// it rejects, which config.Config.Validate reports at startup.
func newOriginSet(origins []string) originSet {
	set := originSet{}
	for _, origin := range origins {
		if normalized, err := config.ParseOrigin(origin); err == nil {
			set[normalized] = struct{}{}
		}
	}

	return set
}

// contains reports whether the Origin header value origin, once
// normalized, is in the set. Browsers send origins already normalized, so
// the lookup of the value as sent usually succeeds without parsing.
func (s originSet) contains(origin string) bool {
	if _, ok := s[origin]; ok {
		return true
	}

	normalized, err := config.ParseOrigin(origin)
	if err != nil {
		return false
	}

	_, ok := s[normalized]

	return ok
}
