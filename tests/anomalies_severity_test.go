package tests

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestAnomaliesSeverityList(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ids := map[string]uuid.UUID{}
	for _, severity := range events.Severities() {
		anomaly := newAnomaly(severity)
		ids[severity] = anomaly.AnomalyID
		appendAnomaly(t, a, anomaly)
	}
	testapp.WaitFor(t, 30*time.Second, "anomalies projected", func() bool {
		return a.Count("SELECT count(*) FROM anomalies") == len(ids)
	})

	listed := func(t *testing.T, severities ...oas.Severity) []uuid.UUID {
		t.Helper()

		page, err := a.Client.ListAnomalies(background(), oas.ListAnomaliesParams{Severity: severities})
		require.NoError(t, err, "severities %v", severities)

		var got []uuid.UUID
		for _, anomaly := range page.Data {
			got = append(got, anomaly.AnomalyID)
		}

		return got
	}

	require.ElementsMatch(t, []uuid.UUID{ids["critical"], ids["warning"]},
		listed(t, oas.SeverityCritical, oas.SeverityWarning))
	require.ElementsMatch(t, []uuid.UUID{ids["critical"], ids["info"]},
		listed(t, oas.SeverityInfo, oas.SeverityCritical))
	require.ElementsMatch(t, []uuid.UUID{ids["warning"]}, listed(t, oas.SeverityWarning))
	require.ElementsMatch(t, []uuid.UUID{ids["warning"]}, listed(t, oas.SeverityWarning, oas.SeverityWarning))
	require.Len(t, listed(t), 3, "no severity parameter")

	status, body := get(t, a, "/api/v1/anomalies?severity=critical,warning")
	require.Equal(t, http.StatusOK, status, "body: %s", body)
	require.Contains(t, string(body), ids["critical"].String())
	require.Contains(t, string(body), ids["warning"].String())
	require.NotContains(t, string(body), ids["info"].String())

	status, body = get(t, a, "/api/v1/anomalies?severity=info")
	require.Equal(t, http.StatusOK, status, "body: %s", body)
	require.Contains(t, string(body), ids["info"].String())
	require.NotContains(t, string(body), ids["critical"].String())
}

func TestAnomaliesSeverityListRejectsBadItems(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	const allowed = "critical, warning, info"

	cases := []struct {
		query   string
		message string
	}{
		{"critical,bogus", `severity must be one of ` + allowed + `, got "bogus"`},
		{"high,critical", `severity must be one of ` + allowed + `, got "high"`},
		{"critical, warning", `severity must be one of ` + allowed + `, got " warning"`},
		{"critical,,info", `severity must be a comma-separated list of ` + allowed +
			` without empty items, got "critical,,info"`},
		{"critical,", `severity must be a comma-separated list of ` + allowed +
			` without empty items, got "critical,"`},
		{",", `severity must be a comma-separated list of ` + allowed + ` without empty items, got ","`},
		{"", `severity must be a comma-separated list of ` + allowed + ` without empty items, got ""`},
	}

	for _, tc := range cases {
		path := "/api/v1/anomalies?severity=" + url.QueryEscape(tc.query)
		status, body := get(t, a, path)
		require.Equal(t, http.StatusBadRequest, status, path)
		require.JSONEq(t, fmt.Sprintf(`{"error":%q}`, tc.message), string(body), path)
	}

	status, body := get(t, a, "/api/v1/anomalies?severity=critical&severity=warning")
	require.Equal(t, http.StatusBadRequest, status, "severity given twice")
	require.JSONEq(t, `{"error":"severity must appear at most once in the query, got 2 values"}`, string(body))
}
