package handlers

import (
	"net/http"
)

// CORS returns middleware that lets browsers on the listed origins call the
// API. Requests from other origins get no CORS headers, so browsers block
// them; an empty list allows no cross-origin calls. Origins are compared
// in the form config.ParseOrigin returns.
func CORS(origins []string) func(http.Handler) http.Handler {
	allowed := newOriginSet(origins)

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" || !allowed.contains(origin) {
				next.ServeHTTP(w, r)
				return
			}

			header := w.Header()
			header.Set("Access-Control-Allow-Origin", origin)
			header.Add("Vary", "Origin")
			header.Set("Access-Control-Expose-Headers", "ETag, Location, Retry-After")

			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				header.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
				header.Set("Access-Control-Allow-Headers", "Authorization, Content-Encoding, Content-Type, If-Match, X-API-Key")
				header.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)

				return
			}

			next.ServeHTTP(w, r)
		})
	}
}
