package tests

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/testapp"
)

// TestBacktestAcceptsLowercaseTimestamps sends a backtest whose from and to
// have a lowercase "t" and "z", as RFC 3339 allows, and gets them back in
// upper case. A value that is not a timestamp still gets 400.
func TestBacktestAcceptsLowercaseTimestamps(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	body := func(from, to string) string {
		return `{"rule":` + surrogateRule("tz test", "error", "web") + `,"from":"` + from + `","to":"` + to + `"}`
	}

	status, lower := sendBody(t, a, http.MethodPost, "/api/v1/rules/backtest", "application/json",
		body("2024-01-01t00:00:00z", "2024-01-02t00:00:00.5+01:00"))
	require.Equal(t, http.StatusOK, status, "body: %s", lower)

	result := decodeJSON(t, []byte(lower)).(map[string]any)
	require.Equal(t, "2024-01-01T00:00:00Z", result["from"])
	require.Equal(t, "2024-01-01T23:00:00.5Z", result["to"])

	status, invalid := sendBody(t, a, http.MethodPost, "/api/v1/rules/backtest", "application/json",
		body("2024-01-01x00:00:00z", "2024-01-02T00:00:00Z"))
	require.Equal(t, http.StatusBadRequest, status, "body: %s", invalid)
	require.Contains(t, invalid, "from")
}

// TestBacktestRangeInUTC checks the from and to of a backtest against the
// range of event timestamps in UTC, whatever zone offset they carry.
func TestBacktestRangeInUTC(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	body := func(from, to string) string {
		return `{"rule":` + surrogateRule("range test", "error", "web") + `,"from":"` + from + `","to":"` + to + `"}`
	}

	status, accepted := sendBody(t, a, http.MethodPost, "/api/v1/rules/backtest", "application/json",
		body("1969-12-31T23:30:00-01:00", "1970-01-01T01:00:00Z"))
	require.Equal(t, http.StatusOK, status, "body: %s", accepted)

	result := decodeJSON(t, []byte(accepted)).(map[string]any)
	require.Equal(t, "1970-01-01T00:30:00Z", result["from"])

	status, rejected := sendBody(t, a, http.MethodPost, "/api/v1/rules/backtest", "application/json",
		body("2099-12-31T00:00:00Z", "2099-12-31T23:00:00-02:00"))
	require.Equal(t, http.StatusBadRequest, status, "body: %s", rejected)
	require.Contains(t, rejected, `"error":"Validation failed: to: must be from 1970 up to, not including, 2100"`)
}
