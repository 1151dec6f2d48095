package tests

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/oas"
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

	typeErrors := []struct{ body, error string }{
		{`{"name":"n","severity":"info","window_seconds":"60","condition":{}}`,
			`{"error":"Validation failed: window_seconds: invalid type: got a string",` +
				`"issues":[{"path":["window_seconds"],"message":"invalid type: got a string","code":"invalid"}]}`},
		{rule("n", `{"source":5}`),
			`{"error":"Validation failed: condition.filters.source: invalid type: got a number",` +
				`"issues":[{"path":["condition","filters","source"],"message":"invalid type: got a number","code":"invalid"}]}`},
		{`[` + rule("n", `{}`) + `]`, `{"error":"request body must be a JSON object, got an array","issues":[]}`},
		{`{"name":"n"`, `{"error":"request body is not valid JSON: unexpected EOF","issues":[]}`},
		{``, `{"error":"request body is required","issues":[]}`},
	}
	for _, c := range typeErrors {
		status, _, body = postJSON(t, a, "/api/v1/rules", c.body)
		require.Equal(t, http.StatusBadRequest, status, "rule body %s: %s", c.body, body)
		require.JSONEq(t, c.error, string(body), "rule body %s", c.body)
	}

	backtest := func(fields string) string {
		return `{"rule":` + rule("b", `{}`) + `,` + fields + `}`
	}
	fieldIssue := func(field, path, message string) string {
		return `{"error":"Validation failed: ` + field + `: ` + message + `",` +
			`"issues":[{"path":` + path + `,"message":"` + message + `","code":"invalid"}]}`
	}
	valueErrors := []struct{ path, body, error string }{
		{"/api/v1/rules", strings.Replace(rule("n", `{}`), `"window_seconds":60`, `"window_seconds":1.5`, 1),
			fieldIssue("window_seconds", `["window_seconds"]`, "must be an integer")},
		{"/api/v1/rules", strings.Replace(rule("n", `{}`), `"window_seconds":60`, `"window_seconds":6e1`, 1),
			fieldIssue("window_seconds", `["window_seconds"]`, "must be an integer")},
		{"/api/v1/rules", strings.Replace(rule("n", `{}`), `"window_seconds":60`,
			`"window_seconds":99999999999999999999`, 1),
			fieldIssue("window_seconds", `["window_seconds"]`, "is out of range")},
		{"/api/v1/rules", strings.Replace(rule("n", `{}`), `"value":5`, `"value":1e400`, 1),
			fieldIssue("condition.value", `["condition","value"]`, "is out of range")},
		{"/api/v1/rules/backtest", backtest(`"from":"yesterday","to":"2024-01-02T00:00:00Z"`),
			fieldIssue("from", `["from"]`, "must be an RFC 3339 timestamp")},
		{"/api/v1/rules/backtest", backtest(`"from":"2024-01-01T00:00:00Z","to":"2024-13-02T00:00:00Z"`),
			fieldIssue("to", `["to"]`, "must be an RFC 3339 timestamp")},
		{"/api/v1/rules/backtest", backtest(`"rule_id":"nope","from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"`),
			fieldIssue("rule_id", `["rule_id"]`, "must be a UUID")},
		{"/api/v1/rules/backtest", backtest(`"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z","max_events":2.5`),
			fieldIssue("max_events", `["max_events"]`, "must be an integer")},
		{"/api/v1/rules/backtest", backtest(`"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z","max_events":100000000000`),
			fieldIssue("max_events", `["max_events"]`, "must be at most 10000000")},
		{"/api/v1/rules", `{"name":"n","severity":"info","window_seconds":60,"condition":{}}`,
			fieldIssue("condition.type", `["condition","type"]`, "is required")},
		{"/api/v1/rules/backtest", `{"rule":{"name":"t","severity":"info","window_seconds":60},` +
			`"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"}`,
			fieldIssue("rule.condition", `["rule","condition"]`, "is required")},
		{"/api/v1/rules", strings.Replace(rule("n", `{}`), `"window_seconds":60`, `"window_seconds":0`, 1),
			fieldIssue("window_seconds", `["window_seconds"]`, "must be at least 1")},
		{"/api/v1/rules", rule("", `{}`), fieldIssue("name", `["name"]`, "must not be empty")},
		{"/api/v1/rules", strings.Replace(rule("n", `{}`), `"severity":"info"`, `"severity":"bad"`, 1),
			fieldIssue("severity", `["severity"]`, `\"bad\" is not one of the allowed values`)},
		{"/api/v1/rules", `{"name":"n","severity":"info","window_seconds":60,` +
			`"condition":{"type":"timestamp_drift","max_drift_seconds":-1}}`,
			fieldIssue("condition.max_drift_seconds", `["condition","max_drift_seconds"]`, "must be at least 0")},
		{"/api/v1/rules", `{"name":"n","severity":"info","window_seconds":60,` +
			`"condition":{"type":"timestamp_drift","max_drift_seconds":0}}`,
			fieldIssue("condition.max_drift_seconds", `["condition","max_drift_seconds"]`, "must be greater than 0")},
		{"/api/v1/rules", `{"name":"n","severity":"info","window_seconds":60,` +
			`"condition":{"type":"required_fields","fields":[""]}}`,
			fieldIssue("condition.fields.0", `["condition","fields",0]`, "must not be empty")},
		{"/api/v1/rules", `nope`, `{"error":"request body must be a JSON object","issues":[]}`},
		{"/api/v1/rules", "\xef\xbb\xbf" + rule("n", `{}`),
			`{"error":"request body starts with a UTF-8 byte order mark (EF BB BF); send the JSON without it","issues":[]}`},
		{"/api/v1/rules", rule("n", `{"bogus":"x"}`),
			fieldIssue("condition.filters.bogus", `["condition","filters","bogus"]`, "is not a known field")},
		{"/api/v1/rules", rule("n", `{"source":" "}`),
			fieldIssue("condition.filters.source", `["condition","filters","source"]`, "must not be blank")},
		{"/api/v1/rules", rule("n", `{"event_type":"a\u2028b"}`),
			fieldIssue("condition.filters.event_type", `["condition","filters","event_type"]`,
				"must contain printable characters only, without control characters; character 2, U+2028, is not printable")},
		{"/api/v1/rules", `{"name":"n","severity":"info","window_seconds":60,` +
			`"condition":{"type":"required_fields","event_type":"a\u200bb","fields":["user.id"]}}`,
			fieldIssue("condition.event_type", `["condition","event_type"]`,
				"must contain printable characters only, without control characters; character 2, U+200B, is not printable")},
		{"/api/v1/rules/backtest", `{"rule":` + rule(`\u202eb`, `{}`) + `,"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"}`,
			fieldIssue("rule.name", `["rule","name"]`, "must contain printable characters only, without control characters; character 1, U+202E, is not printable")},
		{"/api/v1/projections/events/replay", `{"frm":3}`, fieldIssue("frm", `["frm"]`, "is not a known field")},
	}
	for _, c := range valueErrors {
		status, _, body = postJSON(t, a, c.path, c.body)
		require.Equal(t, http.StatusBadRequest, status, "%s body %s: %s", c.path, c.body, body)
		require.JSONEq(t, c.error, string(body), "%s body %s", c.path, c.body)
	}

	status, _, body = post(t, a, "/api/v1/rules", "text/plain", []byte(rule("n", `{}`)))
	require.Equal(t, http.StatusUnsupportedMediaType, status, "rule sent as text/plain: %s", body)
	require.JSONEq(t, `{"error":"Content-Type must be application/json, got \"text/plain\""}`, string(body))

	gzipped, err := http.NewRequest(http.MethodPost, a.URL+"/api/v1/rules", strings.NewReader(rule("n", `{}`)))
	require.NoError(t, err)
	gzipped.Header.Set("Content-Type", "application/json")
	gzipped.Header.Set("Content-Encoding", "gzip")
	response, err := http.DefaultClient.Do(gzipped)
	require.NoError(t, err)
	encodingBody, err := io.ReadAll(response.Body)
	require.NoError(t, err)
	require.NoError(t, response.Body.Close())
	require.Equal(t, http.StatusUnsupportedMediaType, response.StatusCode, "rule sent with Content-Encoding gzip: %s", encodingBody)
	require.Equal(t, "identity", response.Header.Get("Accept-Encoding"))
	require.JSONEq(t, `{"error":"Content-Encoding must be identity on this route, got \"gzip\""}`, string(encodingBody))

	status, _, body = post(t, a, "/api/v1/rules", "application/json; charset=utf-16", []byte(rule("n", `{}`)))
	require.Equal(t, http.StatusUnsupportedMediaType, status, "rule sent as UTF-16: %s", body)
	require.JSONEq(t, `{"error":"Content-Type charset must be utf-8, got \"utf-16\""}`, string(body))

	status, _, body = post(t, a, "/api/v1/rules", "application/json; charset=UTF-8", []byte(rule("declared-utf-8", `{}`)))
	require.Equal(t, http.StatusCreated, status, "rule sent as UTF-8: %s", body)

	status, _, body = post(t, a, "/api/v1/rules", "application/json; charset=us-ascii", []byte(rule("declared-ascii", `{}`)))
	require.Equal(t, http.StatusCreated, status, "rule sent as US-ASCII: %s", body)

	for _, ruleBody := range []string{"", rule("n", `{}`)} {
		status, _, body = post(t, a, "/api/v1/rules", "", []byte(ruleBody))
		require.Equal(t, http.StatusUnsupportedMediaType, status, "rule %q without Content-Type: %s", ruleBody, body)
		require.JSONEq(t, `{"error":"Content-Type must be application/json, got \"\""}`, string(body))
	}

	status, _, body = postJSON(t, a, "/api/v1/rules", rule(strings.Repeat("x", 70<<10), `{}`))
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "body over the limit: %.200s", body)

	status, _, body = postJSON(t, a, "/api/v1/projections/events/replay", `{"from":99999999}`)
	require.Equal(t, http.StatusBadRequest, status, "replay past the log head: %s", body)
	require.Contains(t, string(body), "past the end of the log")

	status, _, body = postJSON(t, a, "/api/v1/projections/api_keys/replay", `{"from":1}`)
	require.Equal(t, http.StatusBadRequest, status, "api_keys replay from a position: %s", body)
	require.JSONEq(t, `{"error":"from: invalid start position: projection api_keys is only replayed from the start `+
		`of the log, because its table is wrong without the earlier records"}`, string(body))

	status, _, body = postJSON(t, a, "/api/v1/rules/backtest", `{"rule":`+rule("b", `{}`)+
		`,"from":"1000-01-01T00:00:00Z","to":"2262-04-12T00:00:00Z"}`)
	require.Equal(t, http.StatusBadRequest, status, "backtest range beyond the clock: %s", body)
	require.Contains(t, string(body), "from")
	require.Contains(t, string(body), "to")
}

func TestSeverityParameterRejectsUnknown(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})
	ctx := background()

	for _, severity := range []oas.Severity{"bogus", "high", "Critical", ""} {
		message := `severity must be one of critical, warning, info, got "` + string(severity) + `"`

		_, err := a.Client.ListRules(ctx, oas.ListRulesParams{Severity: oas.NewOptSeverity(severity)})
		status, got := statusOf(t, err)
		require.Equal(t, http.StatusBadRequest, status, "rules with severity %q", severity)
		require.Equal(t, message, got, "rules with severity %q", severity)

		if severity == "" {
			message = `severity must be a comma-separated list of critical, warning, info without empty items, got ""`
		}

		_, err = a.Client.ListAnomalies(ctx, oas.ListAnomaliesParams{Severity: []oas.Severity{severity}})
		status, got = statusOf(t, err)
		require.Equal(t, http.StatusBadRequest, status, "anomalies with severity %q", severity)
		require.Equal(t, message, got, "anomalies with severity %q", severity)
	}

	for _, severity := range []oas.Severity{oas.SeverityCritical, oas.SeverityWarning, oas.SeverityInfo} {
		_, err := a.Client.ListAnomalies(ctx, oas.ListAnomaliesParams{Severity: []oas.Severity{severity}})
		require.NoError(t, err, "anomalies with severity %q", severity)
	}
}

func TestHeadServesGetRoutes(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	for _, path := range []string{"/api/v1/events", "/api/v1/rules", "/healthz", "/dashboard/"} {
		get, err := http.Get(a.URL + path)
		require.NoError(t, err)
		require.NoError(t, get.Body.Close())

		head, err := http.Head(a.URL + path)
		require.NoError(t, err)
		body, err := io.ReadAll(head.Body)
		require.NoError(t, err)
		require.NoError(t, head.Body.Close())

		require.Equal(t, get.StatusCode, head.StatusCode, "HEAD %s", path)
		require.Equal(t, http.StatusOK, head.StatusCode, "HEAD %s", path)
		require.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"), "HEAD %s", path)
		require.Empty(t, body, "HEAD %s", path)
	}

	head, err := http.Head(a.URL + "/api/v1/events/" + newID().String())
	require.NoError(t, err)
	require.NoError(t, head.Body.Close())
	require.Equal(t, http.StatusNotFound, head.StatusCode)
}

func TestQueryWithBrokenEscapeRejected(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	for _, path := range []string{
		"/api/v1/events?source=gk-src%zz",
		"/api/v1/anomalies?severity=%zz",
		"/api/v1/rules?severity=critical&limit=%2",
		"/api/v1/metrics?window_seconds=%zz",
		"/ws?severity=%zz",
	} {
		status, body := get(t, a, path)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", path, body)
		require.Contains(t, string(body), `"error":"invalid query string: invalid URL escape`, path)
	}
}

// TestUnknownMethodGets501 sends methods that no route takes. Each gets a
// JSON 501 whatever the path, and the request metrics count them under
// one method label instead of one per method sent.
func TestUnknownMethodGets501(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	for _, method := range []string{"PROPFIND", "ZZTOP1", "TRACE"} {
		for _, path := range []string{"/api/v1/events", "/healthz", "/nope", "/dashboard/"} {
			status, header, body := request(t, a, method, path, "", "", "")
			require.Equal(t, http.StatusNotImplemented, status, "%s %s: %s", method, path, body)
			require.Equal(t, "application/json; charset=utf-8", header.Get("Content-Type"), "%s %s", method, path)
			require.JSONEq(t, `{"error":"method `+method+` is not supported; this server takes GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS"}`,
				body, "%s %s", method, path)
		}
	}

	status, body := get(t, a, "/metrics")
	require.Equal(t, http.StatusOK, status)
	text := string(body)
	require.False(t, strings.Contains(text, "ZZTOP"), "a label value per unknown method")
	require.True(t, strings.Contains(text, `eventpulse_http_requests_total{method="other",route="unmatched",status="501"} 8`),
		"PROPFIND and ZZTOP1 counted as other")
	require.True(t, strings.Contains(text, `eventpulse_http_requests_total{method="TRACE",route="unmatched",status="501"} 4`),
		"TRACE keeps its own label, as a method of RFC 9110")
}

// TestDashboardUnknownPathGets404 requests dashboard files that do not
// exist, including paths that leave the directory. Each gets the API's
// JSON 404, while the page and its assets are served with a
// Content-Security-Policy and X-Frame-Options that forbid framing.
func TestDashboardUnknownPathGets404(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	for _, path := range []string{"/dashboard/nope", "/dashboard/static/app.js", "/dashboard/../../etc/passwd", "/dashboard/%2e%2e/go.mod"} {
		status, header, body := request(t, a, http.MethodGet, path, "", "", "")
		require.Equal(t, http.StatusNotFound, status, "GET %s: %s", path, body)
		require.Equal(t, "application/json; charset=utf-8", header.Get("Content-Type"), "GET %s", path)
		require.Contains(t, body, `"error":"no route for GET `, "GET %s", path)
		if !strings.Contains(path, "..") {
			require.JSONEq(t, `{"error":"no route for GET `+path+`"}`, body, "the path as sent")
		}
	}

	for _, path := range []string{"/dashboard", "/dashboard/", "/dashboard/app.js", "/dashboard/style.css"} {
		status, header, body := request(t, a, http.MethodGet, path, "", "", "")
		require.Equal(t, http.StatusOK, status, "GET %s: %s", path, body)
		require.Equal(t,
			"default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
			header.Get("Content-Security-Policy"), "GET %s", path)
		require.Equal(t, "DENY", header.Get("X-Frame-Options"), "GET %s", path)
	}

	status, header, body := request(t, a, http.MethodPost, "/dashboard/app.js", "", "", "")
	require.Equal(t, http.StatusMethodNotAllowed, status, "POST: %s", body)
	require.Equal(t, http.MethodGet, header.Get("Allow"))
}

// TestRepeatedHeadersRejected sends Content-Type and If-Match twice. Two
// different Content-Type values get 400 naming both. The If-Match lines
// form one list, which passes when it names the current version.
func TestRepeatedHeadersRejected(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	rule := createRule(t, a, thresholdRule("repeated headers"))
	path := "/api/v1/rules/" + rule.Response.RuleID.String()

	status, body := sendRequest(t, http.MethodPatch, a.URL+path, `{"severity":"critical"}`, http.Header{
		"Content-Type": {"application/merge-patch+json"}, "If-Match": {`"4"`, `"1"`},
	})
	require.Equal(t, http.StatusOK, status, "the lines name version 1: %s", body)

	status, body = sendRequest(t, http.MethodPatch, a.URL+path, `{"severity":"warning"}`, http.Header{
		"Content-Type": {"application/merge-patch+json"}, "If-Match": {`"1"`, `"3"`},
	})
	require.Equal(t, http.StatusPreconditionFailed, status, "the rule is at version 2: %s", body)

	status, body = sendRequest(t, http.MethodPatch, a.URL+path, `{"severity":"critical"}`, http.Header{
		"Content-Type": {"application/merge-patch+json"}, "If-Match": {`"2"`, `"2"`},
	})
	require.Equal(t, http.StatusOK, status, "equal copies: %s", body)

	status, body = sendRequest(t, http.MethodPost, a.URL+"/api/v1/events", `{"event_type":"e","source":"s"}`, http.Header{
		"Content-Type": {"application/json", "text/plain"},
	})
	require.Equal(t, http.StatusBadRequest, status, "body: %s", body)
	require.JSONEq(t, `{"error":"the request carries 2 different Content-Type headers (\"application/json\", \"text/plain\"); send one"}`, body)
	require.Zero(t, a.Count(`SELECT count(*) FROM events WHERE source = 's'`))

	status, body = sendRequest(t, http.MethodPost, a.URL+"/api/v1/events", `{"event_type":"e","source":"s"}`, http.Header{
		"Content-Type": {"application/json", "application/json"},
	})
	require.Equal(t, http.StatusAccepted, status, "equal copies: %s", body)
}

// TestPagingBeyondInt64Clamped sends integer parameters too large for an
// int64. limit and offset are clamped like any other whole number out of
// range, and window_seconds gets its range message.
func TestPagingBeyondInt64Clamped(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	var page struct {
		Data       []json.RawMessage `json:"data"`
		Pagination struct {
			Limit  int64 `json:"limit"`
			Offset int64 `json:"offset"`
		} `json:"pagination"`
	}

	status, body := get(t, a, "/api/v1/events?limit=99999999999999999999")
	require.Equal(t, http.StatusOK, status, "body: %s", body)
	require.NoError(t, json.Unmarshal(body, &page))
	require.Equal(t, int64(500), page.Pagination.Limit)

	status, body = get(t, a, "/api/v1/events?limit=-99999999999999999999&offset=99999999999999999999")
	require.Equal(t, http.StatusOK, status, "body: %s", body)
	require.NoError(t, json.Unmarshal(body, &page))
	require.Equal(t, int64(1), page.Pagination.Limit)
	require.Equal(t, int64(math.MaxInt64), page.Pagination.Offset)
	require.Empty(t, page.Data)

	status, body = get(t, a, "/api/v1/metrics?window_seconds=99999999999999999999")
	require.Equal(t, http.StatusBadRequest, status)
	require.JSONEq(t, `{"error":"window_seconds must be between 10 and 3600"}`, string(body))

	status, body = get(t, a, "/api/v1/anomalies?limit=1e3")
	require.Equal(t, http.StatusBadRequest, status)
	require.JSONEq(t, `{"error":"limit must be an integer"}`, string(body))
}

// TestTimestampsOutsideRFC3339Rejected sends date-times that time.Parse
// accepts and RFC 3339 does not: a zone offset of +24:00 or with minute 60,
// and a comma before the fraction. Each place that takes a date-time
// rejects them.
func TestTimestampsOutsideRFC3339Rejected(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{NoWorker: true})

	for _, value := range []string{"2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00-05:60", "2026-01-01T00:00:00,5Z"} {
		escaped := url.QueryEscape(value)

		status, body := get(t, a, "/api/v1/metrics?to="+escaped)
		require.Equal(t, http.StatusBadRequest, status, "metrics to=%s", value)
		require.JSONEq(t, `{"error":"to must be a valid ISO-8601 timestamp"}`, string(body))

		status, body = get(t, a, "/api/v1/events?from="+escaped)
		require.Equal(t, http.StatusBadRequest, status, "events from=%s", value)
		require.JSONEq(t, `{"error":"from must be a valid ISO-8601 timestamp"}`, string(body))

		status, _, postBody := postJSON(t, a, "/api/v1/rules/backtest", `{"rule":{"name":"n","severity":"info","window_seconds":60,`+
			`"condition":{"type":"threshold","metric":"count","operator":">","value":5}},"from":"`+value+`","to":"2026-01-02T00:00:00Z"}`)
		require.Equal(t, http.StatusBadRequest, status, "backtest from=%s: %s", value, postBody)
		require.Contains(t, string(postBody), `"path":["from"],"message":"must be an RFC 3339 timestamp"`)

		status, _, postBody = postJSON(t, a, "/api/v1/events", `{"event_type":"e","source":"s","timestamp":"`+value+`"}`)
		require.Equal(t, http.StatusBadRequest, status, "event timestamp %s: %s", value, postBody)
		require.Contains(t, string(postBody), `"path":["timestamp"]`)
	}

	status, body := get(t, a, "/api/v1/events?from="+url.QueryEscape("2026-01-01T00:00:00.5+23:59"))
	require.Equal(t, http.StatusOK, status, "body: %s", body)
}

// TestEmptyFiltersIgnored sends event_type= and source= with no value, as
// a form with empty fields does. They filter nothing, as if absent.
func TestEmptyFiltersIgnored(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	status, _, body := postJSON(t, a, "/api/v1/events/batch",
		`[{"event_type":"a","source":"one"},{"event_type":"b","source":"two"},{"event_type":"b","source":"one"}]`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 3)

	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	for _, query := range []string{"source=&event_type=", "source=", "event_type="} {
		status, body := get(t, a, "/api/v1/events?"+query)
		require.Equal(t, http.StatusOK, status, "%s: %s", query, body)
		require.NoError(t, json.Unmarshal(body, &page))
		require.Len(t, page.Data, 3, query)
	}

	status, body = get(t, a, "/api/v1/events?source=one&event_type=")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.Data, 2, "the non-empty filter still applies")

	testapp.WaitFor(t, 10*time.Second, "the metrics to count the three events", func() bool {
		status, body := get(t, a, "/api/v1/metrics?window_seconds=3600&event_type=&source=")
		require.Equal(t, http.StatusOK, status, "body: %s", body)

		return strings.Contains(string(body), `"key":"b","count":2`) && strings.Contains(string(body), `"key":"a","count":1`)
	})
}
