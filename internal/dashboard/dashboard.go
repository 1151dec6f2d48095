// Package dashboard serves the browser dashboard: one HTML page with plain
// JavaScript and CSS embedded in the binary, no build step and no request
// to any host but the API it came from.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy is the Content-Security-Policy of the page and its
// assets. In CSP level 3, 'self' in connect-src also matches WebSocket URLs
// of the page's own host and port (ws: from an http: page, wss: from
// either), which the live feed at /ws uses. frame-ancestors 'none' keeps
// other sites from framing the page, where they could trick a user into
// clicking a rule switch. X-Frame-Options: DENY does the same in browsers
// without frame-ancestors.
//
// NOTE: TestDashboardInBrowser checks the live feed under this policy in
// Chromium only. A browser that follows CSP level 2, where 'self' matches
// only the page's own scheme, would block the feed.
const contentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

// Handler serves the page at its root and its assets below it; mount it
// with http.StripPrefix("/dashboard", ...). A path that names no asset goes
// to notFound.
func Handler(notFound http.Handler) http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic("dashboard: embedded assets missing: " + err.Error())
	}

	fileServer := http.FileServerFS(files)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" {
			r.URL.Path = "/"
		}

		if !exists(files, r.URL.Path) {
			notFound.ServeHTTP(w, r)

			return
		}

		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		w.Header().Set("X-Frame-Options", "DENY")

		fileServer.ServeHTTP(w, r)
	})
}

// exists reports whether the URL path names a file of files, or the root,
// whose index.html the file server sends.
func exists(files fs.FS, urlPath string) bool {
	if urlPath == "/" {
		return true
	}

	name := strings.TrimPrefix(urlPath, "/")
	if !fs.ValidPath(name) {
		return false
	}

	info, err := fs.Stat(files, name)

	return err == nil && !info.IsDir()
}
