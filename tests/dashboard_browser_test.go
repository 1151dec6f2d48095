package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/dashboard"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// chromiumPath returns the Chromium binary, skipping the test when there
// is none.
func chromiumPath(t *testing.T) string {
	t.Helper()

	for _, candidate := range []string{os.Getenv("EVENTPULSE_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if candidate == "" {
			continue
		}
		if path, err := exec.LookPath(candidate); err == nil {
			return path
		}
	}

	t.Skip("no Chromium found: install it with 'apt-get install -y chromium' or set EVENTPULSE_CHROMIUM")

	return ""
}

// newBrowser starts headless Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()

	options := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 900),
	)

	allocator, cancelAllocator := chromedp.NewExecAllocator(context.Background(), options...)
	browser, cancelBrowser := chromedp.NewContext(allocator)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAllocator()
	})

	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	t.Cleanup(cancel)

	return ctx
}

func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()

	ctx := newBrowser(t)
	a := testapp.Start(t, testapp.Options{})
	ruleID, haveRules := createRuleIfSupported(t, a)
	postRecentEvents(t, a, 7)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(a.URL+"/dashboard"),
		chromedp.WaitVisible(`#connection[data-state="open"]`),
		chromedp.WaitVisible(`#chart[data-events="7"]`),
	))

	buckets, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#chart").dataset.buckets`))
	require.NoError(t, err)
	// The 30 minutes span 31 buckets of 60 s unless they start on a minute.
	require.Contains(t, []string{"30", "31"}, buckets, "buckets of the 30-minute chart")

	first := newAnomaly("critical")
	appendAnomaly(t, a, first)

	toastSelector := fmt.Sprintf(`.toast[data-anomaly-id="%s"]`, first.AnomalyID)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(toastSelector)))
	toast, err := chromedp.Run(ctx, chromedp.Text(toastSelector))
	require.NoError(t, err)
	require.Equal(t, "[CRITICAL] checkout errors <burst>: 12 error events in 60s (threshold > 10)", toast)

	// The colors of style.css, as getComputedStyle reports them.
	severityColors := map[string]string{
		"critical": "rgb(197, 48, 48)",
		"warning":  "rgb(183, 121, 31)",
		"info":     "rgb(43, 108, 176)",
	}
	for _, severity := range []string{"critical", "warning", "info"} {
		anomaly := newAnomaly(severity)
		anomaly.RuleName = severity + " rate of 5xx on web/api"
		anomaly.Message = anomaly.RuleName + ` (source="web"): 12 matching events in 60s, > 10`
		appendAnomaly(t, a, anomaly)

		row := fmt.Sprintf(`tr[data-anomaly-id="%s"]`, anomaly.AnomalyID)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(row)))

		severityCell := fmt.Sprintf(`document.querySelector('%s td:nth-child(2)')`, row)
		class, err := chromedp.Run(ctx, chromedp.Evaluate[string](severityCell+`.className`))
		require.NoError(t, err)
		require.Equal(t, "severity "+severity, class)

		color, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(`+severityCell+`).color`))
		require.NoError(t, err)
		require.Equal(t, severityColors[severity], color, "color of a %s anomaly", severity)

		toast := fmt.Sprintf(`document.querySelector('.toast[data-anomaly-id="%s"]')`, anomaly.AnomalyID)
		border, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(`+toast+`).borderLeftColor`))
		require.NoError(t, err)
		require.Equal(t, severityColors[severity], border, "toast border of a %s anomaly", severity)

		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](toast+`.textContent`))
		require.NoError(t, err)
		require.Equal(t, "["+strings.ToUpper(severity)+"] "+anomaly.Message, text, "a message that starts with the rule name names it once")
	}

	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#anomalies tr").length`))
	require.NoError(t, err)
	require.Equal(t, 4, rows)

	if haveRules {
		toggleRule(t, ctx, a, ruleID)
	} else {
		status, err := chromedp.Run(ctx, chromedp.Text("#rules-status"))
		require.NoError(t, err)
		require.Equal(t, "Rules unavailable.", status)
		t.Log("the rules API is not in this build, so the rule switch was not toggled")
	}

	screenshot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	// EVENTPULSE_SCREENSHOT=docs/dashboard.png refreshes the picture in the
	// docs; otherwise it goes to the test's temporary directory.
	target := filepath.Join(t.TempDir(), "dashboard.png")
	if path := os.Getenv("EVENTPULSE_SCREENSHOT"); path != "" {
		target = filepath.Join("..", path)
	}
	require.NoError(t, os.WriteFile(target, screenshot, 0o644))
}

// TestDashboardNotFramed loads a page of another origin that frames the
// dashboard. Chromium must not render the framed page, so its script is
// never requested. Loading the dashboard directly then requests the script,
// which shows that the count would catch a rendered frame.
func TestDashboardNotFramed(t *testing.T) {
	t.Parallel()

	ctx := newBrowser(t)

	var scriptRequests atomic.Int32
	dashboardHandler := http.StripPrefix("/dashboard", dashboard.Handler(http.NotFoundHandler()))
	dashboardServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dashboard/app.js" {
			scriptRequests.Add(1)
		}
		dashboardHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(dashboardServer.Close)

	// The port differs, so the framing page has another origin.
	framingPage := `<!doctype html><title>framing</title>` +
		`<iframe src="` + dashboardServer.URL + `/dashboard" onload="document.body.dataset.framed = 'loaded'"></iframe>`
	framingServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(framingPage))
	}))
	t.Cleanup(framingServer.Close)

	// The load event of the iframe fires for the error page that replaces
	// a refused frame, too.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(framingServer.URL),
		chromedp.WaitVisible(`body[data-framed="loaded"]`),
	))
	require.Equal(t, int32(0), scriptRequests.Load(), "requests for app.js from the framed dashboard")

	// This server has no /ws, so app.js marks the feed closed once it runs.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(dashboardServer.URL+"/dashboard"),
		chromedp.WaitVisible(`#connection[data-state="closed"]`),
	))
	require.Equal(t, int32(1), scriptRequests.Load(), "requests for app.js from the dashboard loaded directly")
}

// postRecentEvents sends count events stamped now and waits until the
// metrics timeseries of the last 30 minutes counts them, as the
// dashboard's rate chart reads it.
func postRecentEvents(t *testing.T, a *testapp.App, count int) {
	t.Helper()

	items := make([]string, count)
	for i := range items {
		items[i] = fmt.Sprintf(`{"event_type":"page_view","source":"web","timestamp":%q,"payload":{"n":%d}}`,
			time.Now().UTC().Format(time.RFC3339Nano), i)
	}
	status, _, body := postJSON(t, a, "/api/v1/events/batch", "["+strings.Join(items, ",")+"]")
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	testapp.WaitFor(t, 30*time.Second, "events in the timeseries", func() bool {
		to := time.Now().UTC()
		query := url.Values{
			"from":           {to.Add(-30 * time.Minute).Format(time.RFC3339)},
			"to":             {to.Add(time.Minute).Format(time.RFC3339)},
			"bucket_seconds": {"60"},
		}
		status, body := get(t, a, "/api/v1/metrics/timeseries?"+query.Encode())
		if status != http.StatusOK {
			return false
		}

		var series struct {
			Series []struct {
				Total int `json:"total"`
			} `json:"series"`
		}
		if json.Unmarshal(body, &series) != nil {
			return false
		}

		total := 0
		for _, entry := range series.Series {
			total += entry.Total
		}

		return total == count
	})
}

// createRuleIfSupported creates an enabled rule through the rules API and
// returns its id, or false when this build has no rules API.
func createRuleIfSupported(t *testing.T, a *testapp.App) (string, bool) {
	t.Helper()

	status, _, body := postJSON(t, a, "/api/v1/rules", `{"name":"checkout errors","severity":"critical",
		"window_seconds":60,"condition":{"type":"threshold","metric":"count",
		"filters":{"event_type":"error","source":"web/checkout"},"operator":">","value":10}}`)
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		return "", false
	}
	require.Equal(t, http.StatusCreated, status, "body: %s", body)

	var rule struct {
		RuleID string `json:"rule_id"`
	}
	require.NoError(t, json.Unmarshal(body, &rule))

	return rule.RuleID, true
}

// toggleRule turns the rule off with its switch and checks the API agrees.
func toggleRule(t *testing.T, ctx context.Context, a *testapp.App, ruleID string) {
	t.Helper()

	toggle := fmt.Sprintf(`input.switch[data-rule-id="%s"]`, ruleID)
	isChecked := chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('%s').checked`, toggle))
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(toggle)))
	checked, err := chromedp.Run(ctx, isChecked)
	require.NoError(t, err)
	require.True(t, checked, "a new rule is enabled")

	require.NoError(t, chromedp.Do(ctx, chromedp.Click(toggle)))

	testapp.WaitFor(t, 30*time.Second, "rule to be disabled", func() bool {
		status, body := get(t, a, "/api/v1/rules/"+ruleID)
		return status == http.StatusOK && strings.Contains(strings.ReplaceAll(string(body), " ", ""), `"enabled":false`)
	})

	checked, err = chromedp.Run(ctx, isChecked)
	require.NoError(t, err)
	require.False(t, checked)
}
