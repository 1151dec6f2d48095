package handlers

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/eventpulse/eventpulse/internal/oas"
)

// LimitBody returns middleware that rejects with 413 a request whose
// declared body is larger than maxBytes and stops reading any body at
// maxBytes, so no route reads an unbounded body into memory.
func LimitBody(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > maxBytes {
				writeJSON(w, http.StatusRequestEntityTooLarge, &oas.Error{
					Error: "request body is larger than " + strconv.FormatInt(maxBytes, 10) + " bytes",
				})
				return
			}

			r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
			next.ServeHTTP(w, r)
		})
	}
}

// CheckQuery returns 400 for a query string with an escape that does not
// decode, and for a query parameter that is not valid UTF-8 or holds a NUL
// character, neither of which PostgreSQL accepts in text.
func CheckQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Parsing an empty query would still allocate a map.
		if r.URL.RawQuery == "" {
			next.ServeHTTP(w, r)
			return
		}

		query, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			// url.Query drops a pair it cannot decode, which would turn a
			// filter with a broken escape into no filter at all.
			writeJSON(w, http.StatusBadRequest, &oas.Error{
				Error: "invalid query string: " + err.Error(),
			})
			return
		}

		for name, values := range query {
			for _, value := range values {
				if !utf8.ValidString(name) || !utf8.ValidString(value) || strings.ContainsRune(value, 0) {
					writeJSON(w, http.StatusBadRequest, &oas.Error{
						Error: "query parameter " + strconv.Quote(name) + " must be valid UTF-8 without NUL characters",
					})
					return
				}
			}
		}

		next.ServeHTTP(w, r)
	})
}

// singleHeaders are headers that a request may carry once. A second copy
// with another value would otherwise be dropped without notice, because
// handlers read the first.
var singleHeaders = []string{"Content-Type"}

// RejectRepeatedHeaders rejects with 400 a request that carries one of
// singleHeaders twice with different values. Identical copies pass. The
// lines of If-Match, whose value is a list, are joined into one list, as
// RFC 9110 (section 5.3) combines the lines of a list field.
func RejectRepeatedHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if values := r.Header["If-Match"]; len(values) > 1 {
			r.Header["If-Match"] = []string{strings.Join(values, ", ")}
		}

		for _, name := range singleHeaders {
			values := r.Header[name]
			if len(values) < 2 || !slices.ContainsFunc(values[1:], func(v string) bool { return v != values[0] }) {
				continue
			}

			quoted := make([]string, len(values))
			for i, value := range values {
				quoted[i] = strconv.Quote(value)
			}

			writeJSON(w, http.StatusBadRequest, &oas.Error{
				Error: fmt.Sprintf("the request carries %d different %s headers (%s); send one",
					len(values), name, strings.Join(quoted, ", ")),
			})

			return
		}

		next.ServeHTTP(w, r)
	})
}

// CheckCharset rejects with 415 a request body whose Content-Type names a
// charset other than UTF-8, because every body is read as UTF-8 JSON, or
// whose Content-Type parameters do not parse. US-ASCII passes, since its
// text reads the same as UTF-8.
func CheckCharset(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contentType := r.Header.Get("Content-Type")
		if r.ContentLength == 0 || !strings.Contains(contentType, ";") {
			next.ServeHTTP(w, r)
			return
		}

		_, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			// Without this, the route's own check would report that the
			// type must be application/json, although it is, when only a
			// parameter is bad, such as an empty charset.
			writeJSON(w, http.StatusUnsupportedMediaType, &oas.Error{
				Error: "invalid Content-Type " + strconv.Quote(contentType) + ": " + strings.TrimPrefix(err.Error(), "mime: "),
			})
			return
		}

		charset, named := params["charset"]
		if named && !readsAsUTF8(charset) {
			writeJSON(w, http.StatusUnsupportedMediaType, &oas.Error{
				Error: "Content-Type charset must be utf-8, got " + strconv.Quote(charset),
			})
			return
		}

		next.ServeHTTP(w, r)
	})
}

// readsAsUTF8 reports whether text in charset reads the same as UTF-8.
func readsAsUTF8(charset string) bool {
	for _, name := range []string{"utf-8", "utf8", "us-ascii", "ascii"} {
		if strings.EqualFold(charset, name) {
			return true
		}
	}

	return false
}
