package tests

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestBadInputOutsideIngestion(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{Config: func(c *config.Config) { c.MaxBodyBytes = 64 << 10 }})
	rule := func(name, filters string) string {
		return `{"name":"` + name + `","severity":"info","window_seconds":60,"condition":{"type":"threshold",` +
			`"metric":"count","filters":` + filters + `,"operator":">","value":5}}`
	}

	for _, query := range []string{"/api/v1/events?source=%ff", "/api/v1/events?event_type=a%00b",
		"/api/v1/anomalies?group_key=%00", "/api/v1/metrics?source=%fe"} {
		status, body := get(t, a, query)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", query, body)
		require.Contains(t, string(body), "UTF-8", query)
	}

	status, _, body := postJSON(t, a, "/api/v1/rules", rule(`x\u0000y`, `{}`))
	require.Equal(t, http.StatusBadRequest, status, "NUL in a rule name: %s", body)
	require.Contains(t, string(body), "name")

	status, _, body = postJSON(t, a, "/api/v1/rules", rule("bogus filter", `{"bogus":"a"}`))
	require.Equal(t, http.StatusBadRequest, status, "unknown filter key: %s", body)
	require.Contains(t, string(body), "bogus")

	status, _, body = postJSON(t, a, "/api/v1/rules", rule(strings.Repeat("x", 70<<10), `{}`))
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "body over the limit: %.200s", body)

	status, _, body = postJSON(t, a, "/api/v1/projections/events/replay", `{"from":99999999}`)
	require.Equal(t, http.StatusBadRequest, status, "replay past the log head: %s", body)
	require.Contains(t, string(body), "past the end of the log")

	status, _, body = postJSON(t, a, "/api/v1/rules/backtest", `{"rule":`+rule("b", `{}`)+
		`,"from":"1000-01-01T00:00:00Z","to":"2262-04-12T00:00:00Z"}`)
	require.Equal(t, http.StatusBadRequest, status, "backtest range beyond the clock: %s", body)
	require.Contains(t, string(body), "from")
	require.Contains(t, string(body), "to")
}
