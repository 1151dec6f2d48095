package dashboard

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHandlerSetsSecurityHeaders(t *testing.T) {
	t.Parallel()

	handler := http.StripPrefix("/dashboard", Handler(http.NotFoundHandler()))

	for _, path := range []string{"/dashboard", "/dashboard/", "/dashboard/app.js", "/dashboard/style.css"} {
		recorder := httptest.NewRecorder()
		handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, path, nil))

		require.Equal(t, http.StatusOK, recorder.Code, "GET %s", path)
		require.Equal(t,
			"default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
			recorder.Header().Get("Content-Security-Policy"), "GET %s", path)
		require.Equal(t, "DENY", recorder.Header().Get("X-Frame-Options"), "GET %s", path)
		require.Equal(t, "no-cache", recorder.Header().Get("Cache-Control"), "GET %s", path)
	}
}

func TestHandlerUnknownPathGoesToNotFound(t *testing.T) {
	t.Parallel()

	handler := http.StripPrefix("/dashboard", Handler(http.NotFoundHandler()))
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/dashboard/nope", nil))

	require.Equal(t, http.StatusNotFound, recorder.Code)
	require.Empty(t, recorder.Header().Get("Content-Security-Policy"))
}
