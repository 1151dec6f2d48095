package handlers

import (
	"github.com/eventpulse/eventpulse/internal/oas"

	"net/http"
	"net/url"
	"slices"
)

// CheckOrigin returns middleware that rejects browser requests from other
// origins with 403. A request without an Origin header (not a browser), a
// same-origin request, and a request from one of origins pass. It guards the
// WebSocket endpoint, which browsers open from any page without CORS.
func CheckOrigin(origins []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" || slices.Contains(origins, origin) || sameOrigin(origin, r.Host) {
				next.ServeHTTP(w, r)
				return
			}

			writeJSON(w, http.StatusForbidden, &oas.Error{Error: "origin " + origin + " is not allowed; add it to EVENTPULSE_CORS_ORIGINS"})
		})
	}
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host == host
}
