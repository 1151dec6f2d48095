// Package dashboard serves the browser dashboard: one HTML page with plain
// JavaScript and CSS embedded in the binary, no build step and no request
// to any host but the API it came from.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the page at its root and its assets below it; mount it
// with http.StripPrefix("/dashboard", ...).
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic("dashboard: embedded assets missing: " + err.Error())
	}

	fileServer := http.FileServerFS(files)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:")

		if r.URL.Path == "" {
			r.URL.Path = "/"
		}

		fileServer.ServeHTTP(w, r)
	})
}
