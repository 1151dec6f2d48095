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

	"github.com/eventpulse/eventpulse/internal/ingest"
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

// TestIngestEmojiSequenceNames sends names holding emoji joined by U+200D,
// which ingestion accepts, and reads them back unchanged.
func TestIngestEmojiSequenceNames(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	const eventType = "deploy \U0001F469\U0001F3FD\u200d\U0001F4BB"
	const source = "\U0001F3F3\ufe0f\u200d\U0001F308"

	status, _, body := postJSON(t, a, "/api/v1/events",
		`{"event_type":"deploy \ud83d\udc69\ud83c\udffd\u200d\ud83d\udcbb","source":"\ud83c\udff3\ufe0f\u200d\ud83c\udf08"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	waitForEvents(t, a, 1)

	list, err := a.Client.ListEvents(background(), oas.ListEventsParams{})
	require.NoError(t, err)
	require.Len(t, list.Data, 1)
	require.Equal(t, eventType, list.Data[0].EventType)
	require.Equal(t, source, list.Data[0].Source)
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
	require.Equal(t, 1, a.Count(`SELECT count(*) FROM events WHERE event_id = $1 AND payload::jsonb = '{"n":1}'`, id),
		"the first body wins")
	require.Equal(t, 2, a.Count("SELECT count(*) FROM event_log"),
		"only commands with new events append a record")

	status, metrics := get(t, a, "/metrics")
	require.Equal(t, http.StatusOK, status)
	text := string(metrics)
	require.Contains(t, text, `eventpulse_ingest_handled_events_total{result="appended"} 2`+"\n", "the first body and the marker")
	require.Contains(t, text, `eventpulse_ingest_handled_events_total{result="duplicate"} 2`+"\n", "the two resends of the first body")
	require.Contains(t, text, `eventpulse_ingest_handled_events_total{result="conflict"} 1`+"\n", "the other body")
}

// badInput is a request that ingestion must reject without storing it.
type badInput struct {
	name        string
	path        string
	contentType string
	body        []byte
	status      int
	// field is the path of the first issue of a validation failure, with
	// []any{} for the body itself; nil for a response without issues.
	field []any
	// message is a part of the first issue's message, or of the error.
	message string
}

func badInputs(maxBodyBytes int64) []badInput {
	const single, batch = "/api/v1/events", "/api/v1/events/batch"
	long := strings.Repeat("x", 256)
	deep := strings.Repeat(`{"a":`, ingest.MaxDepth+1) + "1" + strings.Repeat("}", ingest.MaxDepth+1)
	deepArray := strings.Repeat("[", ingest.MaxDepth) + "1" + strings.Repeat("]", ingest.MaxDepth)
	id := "7d444840-9dc0-11d1-b245-5ffdce74fad2"
	event := func(fields string) []byte {
		return []byte(`{"event_type":"e","source":"s"` + fields + `}`)
	}
	invalid := func(name, path, body string, field []any, message string) badInput {
		return badInput{name, path, "application/json", []byte(body), http.StatusBadRequest, field, message}
	}

	items := make([]string, ingest.MaxBatchEvents+1)
	for i := range items {
		items[i] = `{"event_type":"e","source":"s"}`
	}

	return []badInput{
		{"body over the limit", single, "application/json",
			event(`,"payload":{"x":"` + strings.Repeat("a", int(maxBodyBytes)) + `"}`),
			http.StatusRequestEntityTooLarge, nil, "larger than"},
		{"wrong content type", single, "text/plain", event(""), http.StatusUnsupportedMediaType, nil, "Content-Type"},
		{"missing content type", batch, "", []byte("[" + string(event("")) + "]"),
			http.StatusUnsupportedMediaType, nil, "Content-Type"},
		{"latin1 charset", single, "application/json; charset=latin1", event(""),
			http.StatusUnsupportedMediaType, nil, `charset must be utf-8, got "latin1"`},
		{"empty charset", single, "application/json; charset=", event(""),
			http.StatusUnsupportedMediaType, nil, `invalid Content-Type "application/json; charset=": invalid media parameter`},
		{"quoted latin1 charset in a batch", batch, `application/json; charset="ISO-8859-1"`, []byte("[" + string(event("")) + "]"),
			http.StatusUnsupportedMediaType, nil, `charset must be utf-8, got "ISO-8859-1"`},
		invalid("malformed JSON", single, `{"event_type":`, []any{}, "malformed JSON"),
		invalid("byte order mark", single, "\xef\xbb\xbf"+string(event("")), []any{}, "byte order mark"),
		invalid("byte order mark before a batch", batch, "\xef\xbb\xbf["+string(event(""))+"]", []any{}, "byte order mark"),
		invalid("trailing garbage", single, `{"event_type":"e","source":"s"} x`, []any{}, "malformed JSON"),
		invalid("body not an object", single, `[]`, []any{}, "JSON object"),
		invalid("nested too deep in payload", single, string(event(`,"payload":`+deep)),
			append([]any{"payload"}, repeat("a", ingest.MaxDepth)...), "deeper than 32"),
		invalid("nested too deep in metadata", single, string(event(`,"metadata":{"list":`+deepArray+`}`)),
			append([]any{"metadata", "list"}, repeat(0, ingest.MaxDepth-1)...), "deeper than 32"),
		invalid("nested 100000 levels deep", single, string(event(`,"payload":`+strings.Repeat(`{"a":`, 100_000)+"1"+
			strings.Repeat("}", 100_000))), append([]any{"payload"}, repeat("a", ingest.MaxDepth)...), "deeper than 32"),
		invalid("nested 20000 levels deep in a batch item", batch, "["+string(event(""))+","+
			string(event(`,"metadata":`+strings.Repeat(`{"m":`, 20_000)+"1"+strings.Repeat("}", 20_000)))+"]",
			append([]any{1, "metadata"}, repeat("m", ingest.MaxDepth)...), "deeper than 32"),
		invalid("nested 2000 levels deep", single, string(event(`,"payload":{"a":`+strings.Repeat("[", 2000)+
			strings.Repeat("]", 2000)+`}`)), append([]any{"payload", "a"}, repeat(0, ingest.MaxDepth-1)...), "deeper than 32"),
		{"invalid UTF-8 in a name", single, "application/json", []byte("{\"event_type\":\"\xff\",\"source\":\"s\"}"),
			http.StatusBadRequest, []any{"event_type"}, "is not valid UTF-8 (byte 0xFF at offset 15 of the event)"},
		{"invalid UTF-8 in payload", single, "application/json", event(",\"payload\":{\"k\":\"\xc3\x28\"}"),
			http.StatusBadRequest, []any{"payload", "k"}, "is not valid UTF-8 (byte 0xC3"},
		{"invalid UTF-8 in a batch item", batch, "application/json",
			[]byte("[" + string(event("")) + "," + string(event(",\"payload\":{\"x\":\"\xff\"}")) + "]"),
			http.StatusBadRequest, []any{1, "payload", "x"}, "is not valid UTF-8"},
		{"invalid UTF-8 between batch items", batch, "application/json",
			[]byte("[" + string(event("")) + "\xff," + string(event("")) + "]"),
			http.StatusBadRequest, []any{}, "body is not valid UTF-8"},
		invalid("NUL in payload string", single, string(event(`,"payload":{"k":"a\u0000b"}`)), []any{"payload", "k"}, "NUL"),
		invalid("NUL in payload key", single, string(event(`,"payload":{"a\u0000":1}`)), []any{"payload", "a\x00"}, "NUL"),
		invalid("NUL in metadata key", single, string(event(`,"metadata":{"a\u0000":1}`)), []any{"metadata", "a\x00"}, "NUL"),
		invalid("NUL in nested array", single, string(event(`,"payload":{"l":[1,"\u0000"]}`)), []any{"payload", "l", 1}, "NUL"),
		invalid("NUL in event_type", single, `{"event_type":"a\u0000","source":"s"}`, []any{"event_type"}, "NUL"),
		invalid("NUL in source", single, `{"event_type":"e","source":"\u0000"}`, []any{"source"}, "NUL"),
		invalid("NUL in timestamp", single, string(event(`,"timestamp":"2024-01-01T00:00:00Z\u0000"`)), []any{"timestamp"}, "NUL"),
		invalid("integer beyond numeric", single, string(event(`,"payload":{"n":1e200000}`)), []any{"payload", "n"}, "digits before"),
		invalid("fraction beyond numeric", single, string(event(`,"payload":{"n":1e-20000}`)), []any{"payload", "n"}, "digits after"),
		invalid("zero with a scale beyond numeric", single, string(event(`,"payload":{"n":0.0e-20000}`)), []any{"payload", "n"}, "digits after"),
		invalid("lone surrogate escape in payload", single, string(event(`,"payload":{"k":"\ud800"}`)), []any{"payload", "k"}, "surrogate"),
		invalid("lone low surrogate in metadata key", single, string(event(`,"metadata":{"\udc00":1}`)), []any{"metadata", "\ufffd"}, "surrogate"),
		invalid("lone surrogate escape in event_type", single, `{"event_type":"a\ud800","source":"s"}`, []any{"event_type"}, "surrogate"),
		invalid("lone low surrogate in source", batch, `[{"event_type":"e","source":"\udc00x"}]`, []any{0, "source"}, "surrogate"),
		invalid("exponent beyond numeric", single, string(event(`,"payload":{"n":1e9999999999}`)), []any{"payload", "n"}, "out of the range"),
		invalid("missing event_type", single, `{"source":"s"}`, []any{"event_type"}, "required"),
		invalid("missing source", single, `{"event_type":"e"}`, []any{"source"}, "required"),
		invalid("empty event_type", single, `{"event_type":"","source":"s"}`, []any{"event_type"}, "empty"),
		invalid("empty source", single, `{"event_type":"e","source":""}`, []any{"source"}, "empty"),
		invalid("blank source", single, `{"event_type":"e","source":"   "}`, []any{"source"}, "blank"),
		invalid("source of a Hangul filler", single, `{"event_type":"e","source":"\u3164"}`, []any{"source"}, "blank"),
		invalid("event_type of invisible characters", single, `{"event_type":"\u2800\u034f\ufe0f","source":"s"}`,
			[]any{"event_type"}, "blank"),
		invalid("source twice", single, `{"event_type":"e","source":"s","source":"t"}`, []any{"source"}, "more than once"),
		invalid("payload twice in a batch item", batch, `[{"event_type":"e","source":"s"},{"event_type":"e","source":"s","payload":{},"payload":{"a":1}}]`,
			[]any{1, "payload"}, "more than once"),
		invalid("event_type too long", single, `{"event_type":"`+long+`","source":"s"}`, []any{"event_type"}, "at most 255"),
		invalid("source too long", single, `{"event_type":"e","source":"`+long+`"}`, []any{"source"}, "at most 255"),
		invalid("control character in event_type", single, `{"event_type":"a\nb","source":"s"}`, []any{"event_type"}, "control"),
		invalid("control character in source", single, `{"event_type":"e","source":"a\u0007b"}`, []any{"source"}, "control"),
		invalid("DEL in source", single, `{"event_type":"e","source":"a\u007fb"}`, []any{"source"}, "control"),
		invalid("line separator in event_type", single, `{"event_type":"a\u2028b","source":"s"}`, []any{"event_type"}, "control"),
		invalid("zero-width space in source", single, `{"event_type":"e","source":"a\u200bb"}`, []any{"source"}, "control"),
		invalid("right-to-left override in source", single, `{"event_type":"e","source":"a\u202eb"}`, []any{"source"}, "control"),
		invalid("zero-width joiner between letters", single, `{"event_type":"a\u200db","source":"s"}`, []any{"event_type"}, "control"),
		invalid("trailing zero-width joiner", single, `{"event_type":"e","source":"\ud83d\udd25\u200d"}`, []any{"source"}, "control"),
		invalid("event_type not a string", single, `{"event_type":5,"source":"s"}`, []any{"event_type"}, "string"),
		invalid("payload an array", single, string(event(`,"payload":[1]`)), []any{"payload"}, "JSON object"),
		invalid("payload a string", single, string(event(`,"payload":"{}"`)), []any{"payload"}, "JSON object"),
		invalid("payload null", single, string(event(`,"payload":null`)), []any{"payload"}, "JSON object"),
		invalid("metadata a number", single, string(event(`,"metadata":3`)), []any{"metadata"}, "JSON object"),
		invalid("event_id not a UUID", single, string(event(`,"event_id":"nope"`)), []any{"event_id"}, "UUID"),
		invalid("event_id without dashes", single, string(event(`,"event_id":"7d4448409dc011d1b2455ffdce74fad2"`)), []any{"event_id"}, "UUID"),
		invalid("event_id in braces", single, string(event(`,"event_id":"{`+id+`}"`)), []any{"event_id"}, "UUID"),
		invalid("event_id nil UUID", single, string(event(`,"event_id":"00000000-0000-0000-0000-000000000000"`)), []any{"event_id"}, "nil UUID"),
		invalid("event_id a number", single, string(event(`,"event_id":1`)), []any{"event_id"}, "string"),
		invalid("timestamp not RFC 3339", single, string(event(`,"timestamp":"yesterday"`)), []any{"timestamp"}, "RFC 3339"),
		invalid("timestamp without zone", single, string(event(`,"timestamp":"2024-05-01T12:00:00"`)), []any{"timestamp"}, "RFC 3339"),
		invalid("timestamp date only", single, string(event(`,"timestamp":"2024-05-01"`)), []any{"timestamp"}, "RFC 3339"),
		invalid("timestamp as Unix seconds", single, string(event(`,"timestamp":1714564800`)), []any{"timestamp"}, "string"),
		invalid("timestamp year 1", single, string(event(`,"timestamp":"0001-01-01T00:00:00Z"`)), []any{"timestamp"}, "between"),
		invalid("timestamp year 9999", single, string(event(`,"timestamp":"9999-12-31T23:59:59Z"`)), []any{"timestamp"}, "between"),
		invalid("empty batch", batch, `[]`, []any{}, "at least 1"),
		invalid("batch not an array", batch, string(event("")), []any{}, "JSON array"),
		invalid("batch over the count limit", batch, "["+strings.Join(items, ",")+"]", []any{}, "at most 1000"),
		invalid("batch item not an object", batch, `[{"event_type":"e","source":"s"},7]`, []any{1}, "JSON object"),
		invalid("one bad item in batch", batch, `[{"event_type":"e","source":"s"},{"event_type":"e"}]`, []any{1, "source"}, "required"),
		invalid("bad field deep in a batch item", batch, `[{"event_type":"e","source":"s"},{"event_type":"e","source":"s","payload":{"k":["\u0000"]}}]`,
			[]any{1, "payload", "k", 0}, "NUL"),
		invalid("duplicate id in batch", batch,
			`[{"event_id":"`+id+`","event_type":"e","source":"s"},{"event_id":"`+id+`","event_type":"e","source":"s"}]`,
			[]any{1, "event_id"}, "item 0"),
	}
}

func repeat(element any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = element
	}

	return out
}

func TestIngestRejectsBadInput(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	for _, tc := range badInputs(a.Config.MaxBodyBytes) {
		status, _, body := post(t, a, tc.path, tc.contentType, tc.body)
		require.Equal(t, tc.status, status, "%s: body %.300s", tc.name, body)

		if tc.field == nil {
			var response oas.Error
			require.NoError(t, response.UnmarshalJSON(body), "%s: body %.300s", tc.name, body)
			require.Contains(t, response.Error, tc.message, tc.name)
			continue
		}

		var response oas.ValidationError
		require.NoError(t, response.UnmarshalJSON(body), "%s: body %.300s", tc.name, body)
		require.Equal(t, "Validation failed", response.Error, tc.name)
		require.NotEmpty(t, response.Issues, tc.name)
		require.Equal(t, tc.field, pathOf(response.Issues[0]), "%s: %.300s", tc.name, body)
		require.Contains(t, response.Issues[0].Message, tc.message, "%s: %.300s", tc.name, body)
	}

	status, _, body := postJSON(t, a, "/api/v1/events", `{"event_type":"info","source":"marker"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 1)
	require.Equal(t, 1, a.Count("SELECT count(*) FROM event_claims"), "only the marker was accepted")
	require.Equal(t, 1, a.Count("SELECT count(*) FROM event_log"))
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
		{"limit=1&limit=2", http.StatusBadRequest, "limit must appear at most once in the query, got 2 values"},
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

func TestEventTimesKeepFractions(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	status, _, body := postJSON(t, a, "/api/v1/events",
		`{"event_type":"e","source":"frac","timestamp":"2015-10-18T18:01:47.978Z"}`)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	waitForEvents(t, a, 1)

	status, list := get(t, a, "/api/v1/events?source=frac")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(list), `"timestamp":"2015-10-18T18:01:47.978Z"`)
	require.Regexp(t, `"received_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"`, string(list),
		"received_at keeps its fraction of a second")
}
