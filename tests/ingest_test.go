package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-faster/jx"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

func TestIngestSingleEventRoundTrip(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()
	payload := `{"big":123456789012345678901234567890,"text":"héllo ✓ 日本","nested":{"list":[1,2.5,{"deep":null}],"flag":true}}`

	res, err := a.Client.IngestEvent(ctx, &oas.EventInput{
		EventType: "error",
		Source:    "web/frontend",
		Timestamp: oas.NewOptDateTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)),
		Payload:   oas.NewOptEventInputPayload(rawObject(t, payload)),
		Metadata:  oas.NewOptEventInputMetadata(rawObject(t, `{"region":"eu"}`)),
	})
	require.NoError(t, err)

	accepted, ok := res.(*oas.EventAccepted)
	require.True(t, ok, "response %T", res)
	require.Equal(t, oas.EventAcceptedStatusAccepted, accepted.Status)

	waitForEvents(t, a, 1)

	event, err := a.Client.GetEvent(ctx, oas.GetEventParams{EventID: accepted.EventID})
	require.NoError(t, err)
	require.Equal(t, "error", event.EventType)
	require.Equal(t, "web/frontend", event.Source)
	require.Equal(t, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), event.Timestamp.UTC())
	require.Equal(t, decodeJSON(t, []byte(payload)), decodeJSON(t, event.Payload))
	require.Equal(t, decodeJSON(t, []byte(`{"region":"eu"}`)), decodeJSON(t, event.Metadata))
	require.Equal(t, event.ReceivedAt, event.CreatedAt)
}

func TestIngestDefaultsTimestampAndPayload(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	before := time.Now().UTC().Add(-time.Second)

	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"cron"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	waitForEvents(t, a, 1)

	list, err := a.Client.ListEvents(background(), oas.ListEventsParams{})
	require.NoError(t, err)
	require.Len(t, list.Data, 1)
	require.True(t, list.Data[0].Timestamp.After(before), "timestamp %s", list.Data[0].Timestamp)
	require.Equal(t, list.Data[0].ReceivedAt, list.Data[0].Timestamp)
	require.JSONEq(t, `{}`, string(list.Data[0].Payload))
	require.JSONEq(t, `{}`, string(list.Data[0].Metadata))
}

func TestIngestBatchKeepsOrder(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	first := newID()
	batch := []oas.EventInput{
		{EventID: oas.NewOptUUID(first), EventType: "info", Source: "a", Timestamp: at(1)},
		{EventType: "warn", Source: "b", Timestamp: at(2)},
		{EventType: "error", Source: "a", Timestamp: at(3)},
	}

	res, err := a.Client.IngestEventBatch(background(), batch)
	require.NoError(t, err)

	accepted, ok := res.(*oas.BatchAccepted)
	require.True(t, ok, "response %T", res)
	require.Equal(t, 3, accepted.Count)
	require.Len(t, accepted.EventIds, 3)
	require.Equal(t, first, accepted.EventIds[0])

	waitForEvents(t, a, 3)

	list, err := a.Client.ListEvents(background(), oas.ListEventsParams{Source: oas.NewOptString("a")})
	require.NoError(t, err)
	require.Len(t, list.Data, 2)
	require.Equal(t, accepted.EventIds[2], list.Data[0].EventID, "newest event time first")
	require.Equal(t, first, list.Data[1].EventID)
	require.Equal(t, 2, list.Pagination.Count)
}

func TestIngestDuplicateIDsStoreOnce(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	id := newID()
	body := fmt.Sprintf(`{"event_id":"%s","event_type":"info","source":"dup","payload":{"n":1}}`, id)

	for range 3 {
		status, _, response := postJSON(t, a, "/api/v1/events", body)
		require.Equal(t, http.StatusAccepted, status, "body: %s", response)
	}

	conflicting := fmt.Sprintf(`{"event_id":"%s","event_type":"info","source":"dup","payload":{"n":2}}`, id)
	status, _, _ := postJSON(t, a, "/api/v1/events/batch", "["+conflicting+"]")
	require.Equal(t, http.StatusAccepted, status)

	marker := `{"event_type":"info","source":"marker"}`
	status, _, _ = postJSON(t, a, "/api/v1/events", marker)
	require.Equal(t, http.StatusAccepted, status)

	testapp.WaitFor(t, 30*time.Second, "marker event stored", func() bool {
		return a.Count("SELECT count(*) FROM events WHERE source = 'marker'") == 1
	})
	require.Equal(t, 1, a.Count("SELECT count(*) FROM events WHERE event_id = $1", id))
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM events WHERE event_id = $1 AND payload = '{"n":1}'`, id),
		"the first body wins")
	require.Equal(t, 2, a.Count("SELECT count(*) FROM event_log"),
		"only commands with new events append a record")
}

func TestIngestValidation(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	long := strings.Repeat("x", 256)

	cases := []struct {
		name string
		path string
		body string
		// field is the expected path of the first issue, "" for the body.
		field []any
	}{
		{"missing event_type", "/api/v1/events", `{"source":"s"}`, []any{"event_type"}},
		{"empty event_type", "/api/v1/events", `{"event_type":"","source":"s"}`, []any{"event_type"}},
		{"event_type too long", "/api/v1/events", `{"event_type":"` + long + `","source":"s"}`, []any{"event_type"}},
		{"control character in source", "/api/v1/events", `{"event_type":"e","source":"a\u0007b"}`, []any{"source"}},
		{"event_type not a string", "/api/v1/events", `{"event_type":5,"source":"s"}`, []any{"event_type"}},
		{"NUL in payload string", "/api/v1/events", `{"event_type":"e","source":"s","payload":{"k":"a\u0000b"}}`, []any{"payload", "k"}},
		{"NUL in metadata key", "/api/v1/events", `{"event_type":"e","source":"s","metadata":{"a\u0000":1}}`, []any{"metadata", "a\x00"}},
		{"payload not an object", "/api/v1/events", `{"event_type":"e","source":"s","payload":[1]}`, []any{"payload"}},
		{"invalid event_id", "/api/v1/events", `{"event_id":"nope","event_type":"e","source":"s"}`, []any{"event_id"}},
		{"timestamp not RFC 3339", "/api/v1/events", `{"event_type":"e","source":"s","timestamp":"yesterday"}`, []any{"timestamp"}},
		{"timestamp year 1", "/api/v1/events", `{"event_type":"e","source":"s","timestamp":"0001-01-01T00:00:00Z"}`, []any{"timestamp"}},
		{"timestamp year 9999", "/api/v1/events", `{"event_type":"e","source":"s","timestamp":"9999-12-31T23:59:59Z"}`, []any{"timestamp"}},
		{"number beyond numeric", "/api/v1/events", `{"event_type":"e","source":"s","payload":{"n":1e200000}}`, []any{"payload", "n"}},
		{"malformed JSON", "/api/v1/events", `{"event_type":`, []any{}},
		{"body not an object", "/api/v1/events", `[]`, []any{}},
		{"empty batch", "/api/v1/events/batch", `[]`, []any{}},
		{"batch not an array", "/api/v1/events/batch", `{"event_type":"e","source":"s"}`, []any{}},
		{"one bad item in batch", "/api/v1/events/batch", `[{"event_type":"e","source":"s"},{"event_type":"e"}]`, []any{1, "source"}},
		{"duplicate id in batch", "/api/v1/events/batch",
			`[{"event_id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","event_type":"e","source":"s"},` +
				`{"event_id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","event_type":"e","source":"s"}]`, []any{1, "event_id"}},
	}

	for _, tc := range cases {
		status, _, body := postJSON(t, a, tc.path, tc.body)
		require.Equal(t, http.StatusBadRequest, status, "%s: body %s", tc.name, body)

		var response oas.ValidationError
		require.NoError(t, response.UnmarshalJSON(body), "%s: body %s", tc.name, body)
		require.Equal(t, "Validation failed", response.Error, tc.name)
		require.NotEmpty(t, response.Issues, tc.name)
		require.Equal(t, tc.field, pathOf(response.Issues[0]), "%s: %s", tc.name, body)
		require.NotEmpty(t, response.Issues[0].Message, tc.name)
	}

	time.Sleep(200 * time.Millisecond)
	require.Equal(t, 0, a.Count("SELECT count(*) FROM event_claims"), "nothing accepted")
}

func TestIngestRejectsBodyLimitsAndMediaType(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	status, _, body := post(t, a, "/api/v1/events", "text/plain", []byte(`{"event_type":"e","source":"s"}`))
	require.Equal(t, http.StatusUnsupportedMediaType, status, "body: %s", body)
	require.Contains(t, string(body), "Content-Type")

	huge := `{"event_type":"e","source":"s","payload":{"x":"` + strings.Repeat("a", int(a.Config.MaxBodyBytes)) + `"}}`
	status, _, body = postJSON(t, a, "/api/v1/events", huge)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "body: %.200s", body)

	items := make([]string, 1001)
	for i := range items {
		items[i] = `{"event_type":"e","source":"s"}`
	}
	status, _, body = postJSON(t, a, "/api/v1/events/batch", "["+strings.Join(items, ",")+"]")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "at most 1000")

	status, _, body = post(t, a, "/api/v1/events", "application/json", []byte("{\"event_type\":\"\xff\",\"source\":\"s\"}"))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "UTF-8")
}

func TestListEventsParameters(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	cases := []struct {
		query   string
		status  int
		message string
	}{
		{"limit=abc", http.StatusBadRequest, "limit must be an integer"},
		{"offset=x", http.StatusBadRequest, "offset must be an integer"},
		{"from=not-a-date", http.StatusBadRequest, "from must be a valid ISO-8601 timestamp"},
		{"to=nope", http.StatusBadRequest, "to must be a valid ISO-8601 timestamp"},
		{"from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", http.StatusBadRequest, "from must not be after to"},
	}

	for _, tc := range cases {
		status, body := get(t, a, "/api/v1/events?"+tc.query)
		require.Equal(t, tc.status, status, tc.query)
		require.JSONEq(t, fmt.Sprintf(`{"error":%q}`, tc.message), string(body), tc.query)
	}

	status, body := get(t, a, "/api/v1/events?limit=100000")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `"limit":500`)

	status, body = get(t, a, "/api/v1/events?limit=0")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `"limit":1`)

	status, body = get(t, a, "/api/v1/events/"+uuid.NewString())
	require.Equal(t, http.StatusNotFound, status)
	require.JSONEq(t, `{"error":"Event not found"}`, string(body))

	status, body = get(t, a, "/api/v1/events/not-a-uuid")
	require.Equal(t, http.StatusBadRequest, status)
	require.JSONEq(t, `{"error":"event_id must be a valid UUID"}`, string(body))
}

func TestListEventsFiltersAndPages(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	var batch []oas.EventInput
	for i := range 30 {
		batch = append(batch, oas.EventInput{
			EventType: []string{"info", "error"}[i%2],
			Source:    []string{"api", "db", "web"}[i%3],
			Timestamp: at(i),
		})
	}
	_, err := a.Client.IngestEventBatch(background(), batch)
	require.NoError(t, err)
	waitForEvents(t, a, 30)

	list, err := a.Client.ListEvents(background(), oas.ListEventsParams{
		EventType: oas.NewOptString("error"),
		Source:    oas.NewOptString("db"),
	})
	require.NoError(t, err)
	require.Len(t, list.Data, 5, "i%%2==1 and i%%3==1: 1, 7, 13, 19, 25")
	require.Equal(t, at(25).Value, list.Data[0].Timestamp.UTC())

	list, err = a.Client.ListEvents(background(), oas.ListEventsParams{
		From: at(10), To: at(19), Limit: oas.NewOptInt(4), Offset: oas.NewOptInt(2),
	})
	require.NoError(t, err)
	require.Len(t, list.Data, 4)
	require.Equal(t, at(17).Value, list.Data[0].Timestamp.UTC())
	require.Equal(t, oas.Pagination{Limit: 4, Offset: 2, Count: 4}, list.Pagination)
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	ctx := background()

	live, err := a.Client.Healthz(ctx)
	require.NoError(t, err)
	require.Equal(t, oas.LivenessStatusOk, live.Status)

	testapp.WaitFor(t, 10*time.Second, "worker reported ok", func() bool {
		res, err := a.Client.EventsHealth(ctx)
		require.NoError(t, err)
		health, ok := res.(*oas.EventsHealthOK)
		return ok && health.Redis == "PONG" && health.Worker == oas.IngestHealthWorkerOk
	})

	res, err := a.Client.Readyz(ctx)
	require.NoError(t, err)
	ready, ok := res.(*oas.ReadyzOK)
	require.True(t, ok, "response %T", res)
	require.Equal(t, "ok", ready.Postgres)
	require.Equal(t, "ok", ready.Redis)
}

func at(second int) oas.OptDateTime {
	return oas.NewOptDateTime(time.Date(2024, 1, 1, 0, 0, second, 0, time.UTC))
}

func rawObject(t *testing.T, text string) map[string]jx.Raw {
	t.Helper()

	object := map[string]jx.Raw{}
	d := jx.DecodeStr(text)
	require.NoError(t, d.ObjBytes(func(d *jx.Decoder, key []byte) error {
		raw, err := d.Raw()
		object[string(key)] = raw
		return err
	}))

	return object
}

func pathOf(issue oas.Issue) []any {
	path := []any{}
	for _, element := range issue.Path {
		if s, ok := element.GetString(); ok {
			path = append(path, s)
		} else if n, ok := element.GetInt(); ok {
			path = append(path, n)
		}
	}

	return path
}
