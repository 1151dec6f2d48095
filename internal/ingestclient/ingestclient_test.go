package ingestclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	serveringest "github.com/eventpulse/eventpulse/internal/ingest"
)

// fakeAPI is a stand-in for the batch endpoint. It validates each item as the
// API does (an object with non-empty string event_type and source, an
// object payload when present, and valid UTF-8) and stores the raw bytes of
// accepted items.
type fakeAPI struct {
	mu sync.Mutex

	// stored are the accepted items, byte for byte as they arrived.
	stored []string

	// batchSizes are the item counts of every request, in arrival order.
	batchSizes []int

	// unavailable is the number of requests that still get a 503 with
	// Retry-After: 1.
	unavailable int

	// apiKey, when set, is the bearer token every request must carry.
	apiKey string

	// servedMax, when above zero, is the number of requests served. Later
	// requests get a 503 with Retry-After: 1.
	servedMax int
	served    int

	// unavailableMarker, when set, makes every request whose body
	// contains it get a 503 with Retry-After: 1.
	unavailableMarker string

	// maxBodyBytes, when above zero, is the body limit: a longer body gets
	// a 413, as from the server.
	maxBodyBytes int
}

type fakeIssue struct {
	Path    []any  `json:"path"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

func (api *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/events/batch" {
		http.NotFound(w, r)

		return
	}

	if r.Header.Get("Content-Type") != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": "Content-Type must be application/json"})

		return
	}

	if api.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+api.apiKey {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid API key"})

		return
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unreadable body: " + err.Error()})

		return
	}

	if api.maxBodyBytes > 0 && len(body) > api.maxBodyBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "request body is too large"})

		return
	}

	if api.takeUnavailable() || api.overServed() || (api.unavailableMarker != "" && bytes.Contains(body, []byte(api.unavailableMarker))) {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "Redis unavailable"})

		return
	}

	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "malformed body: " + err.Error()})

		return
	}

	api.serveBatch(w, items)
}

func (api *fakeAPI) serveBatch(w http.ResponseWriter, items []json.RawMessage) {
	api.mu.Lock()
	defer api.mu.Unlock()

	api.batchSizes = append(api.batchSizes, len(items))
	if len(items) == 0 || len(items) > BatchSizeMax {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("batch must have 1 to %d items", BatchSizeMax)})

		return
	}

	var issues []fakeIssue
	for i, item := range items {
		issues = append(issues, validateItem(i, item)...)
	}

	if len(issues) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Validation failed", "issues": issues})

		return
	}

	ids := make([]string, len(items))
	for i, item := range items {
		api.stored = append(api.stored, string(item))
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(api.stored))
	}

	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted", "count": len(items), "event_ids": ids})
}

func (api *fakeAPI) takeUnavailable() bool {
	api.mu.Lock()
	defer api.mu.Unlock()

	if api.unavailable == 0 {
		return false
	}

	api.unavailable--

	return true
}

// overServed counts a request and reports whether it is over servedMax.
func (api *fakeAPI) overServed() bool {
	api.mu.Lock()
	defer api.mu.Unlock()

	if api.servedMax == 0 {
		return false
	}

	api.served++

	return api.served > api.servedMax
}

func validateItem(index int, item json.RawMessage) []fakeIssue {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(item, &fields); err != nil || fields == nil {
		return []fakeIssue{{Path: []any{index}, Message: "must be an object", Code: "invalid_type"}}
	}

	// Like the API, the fake names the first string of the item with
	// invalid UTF-8 and goes on to check the item as decoded, with U+FFFD
	// in place of the invalid bytes.
	var issues []fakeIssue
	if !utf8.Valid(item) {
		path, key := invalidUTF8Path(item)
		message := invalidUTF8Message(item)
		if key {
			message = "key " + message
		}

		issues = append(issues, fakeIssue{Path: append([]any{index}, path...), Message: message, Code: "invalid_json"})
	}

	for _, name := range []string{"event_type", "source"} {
		var value string
		if err := json.Unmarshal(fields[name], &value); err != nil || value == "" {
			issues = append(issues, fakeIssue{Path: []any{index, name}, Message: "must be a non-empty string", Code: "invalid_string"})
		}
	}

	if payload, ok := fields["payload"]; ok && !bytes.HasPrefix(bytes.TrimSpace(payload), []byte("{")) {
		issues = append(issues, fakeIssue{Path: []any{index, "payload"}, Message: "must be an object", Code: "invalid_type"})
	}

	return issues
}

// invalidUTF8Path returns the path within value of its first string with
// invalid UTF-8, and whether that string is a member name, whose path
// ends with the name as decoded. value must contain such a string.
func invalidUTF8Path(value json.RawMessage) ([]any, bool) {
	value = bytes.TrimSpace(value)
	decoder := json.NewDecoder(bytes.NewReader(value))
	if _, err := decoder.Token(); err != nil {
		return []any{}, false
	}

	switch value[0] {
	case '{':
		for decoder.More() {
			token, _ := decoder.Token()
			var member json.RawMessage
			_ = decoder.Decode(&member)

			// encoding/json decodes each invalid byte of a name as U+FFFD.
			name, _ := token.(string)
			if strings.ContainsRune(name, utf8.RuneError) {
				return []any{name}, true
			}

			if !utf8.Valid(member) {
				path, key := invalidUTF8Path(member)
				return append([]any{name}, path...), key
			}
		}
	case '[':
		for index := 0; decoder.More(); index++ {
			var element json.RawMessage
			_ = decoder.Decode(&element)

			if !utf8.Valid(element) {
				path, key := invalidUTF8Path(element)
				return append([]any{index}, path...), key
			}
		}
	}

	return []any{}, false
}

// invalidUTF8Message returns the API's message for an item with invalid
// UTF-8, which names the first invalid byte and its offset in the item.
func invalidUTF8Message(item json.RawMessage) string {
	for offset := 0; offset < len(item); {
		r, size := utf8.DecodeRune(item[offset:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("is not valid UTF-8 (byte 0x%02X at offset %d of the event)", item[offset], offset)
		}

		offset += size
	}

	return "is not valid UTF-8"
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (api *fakeAPI) storedItems() []string {
	api.mu.Lock()
	defer api.mu.Unlock()

	return append([]string(nil), api.stored...)
}

func (api *fakeAPI) requestSizes() []int {
	api.mu.Lock()
	defer api.mu.Unlock()

	return append([]int(nil), api.batchSizes...)
}

type testBundle struct {
	api    *fakeAPI
	server *httptest.Server
	dir    string
}

func setup(t *testing.T) *testBundle {
	t.Helper()

	api := &fakeAPI{}
	server := httptest.NewServer(api)
	t.Cleanup(server.Close)

	return &testBundle{api: api, server: server, dir: t.TempDir()}
}

// writeFile writes lines, each followed by "\n", and returns the file path.
func (b *testBundle) writeFile(t *testing.T, name string, lines ...string) string {
	t.Helper()

	path := filepath.Join(b.dir, name)
	content := strings.Join(lines, "\n") + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))

	return path
}

func (b *testBundle) options(files ...string) Options {
	return Options{URL: b.server.URL, Files: files, HTTPClient: b.server.Client()}
}

func validLine(n int) string {
	return fmt.Sprintf(`{"event_type":"page_view","source":"web","payload":{"n":%d}}`, n)
}

func validLines(from, count int) []string {
	lines := make([]string, count)
	for i := range lines {
		lines[i] = validLine(from + i)
	}

	return lines
}

func TestRunStoresEveryLineOnce(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	first := bundle.writeFile(t, "first.ndjson", validLines(0, 1203)...)
	second := bundle.writeFile(t, "second.ndjson", validLines(1203, 740)...)

	opts := bundle.options(first, second)
	opts.BatchSize = 100
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.Equal(t, 1943, summary.Sent)
	require.Equal(t, 1943, summary.Accepted)
	require.Zero(t, summary.Rejected)
	require.True(t, summary.OK())
	require.ElementsMatch(t, validLines(0, 1943), bundle.api.storedItems())
}

func TestRunSendsLineBytesUnchanged(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	line := `{"event_type":"order", "source":"shop","payload":{"amount":123456789012345678901234567890,` +
		`"city":"Zürich 東京 🚀","escaped":"caf\u00e9","float":1.10}}`
	file := bundle.writeFile(t, "unicode.ndjson", line)

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	require.Equal(t, 1, summary.Accepted)
	require.Equal(t, []string{line}, bundle.api.storedItems())
}

func TestRunRejectsBadItemInBatch(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	lines := validLines(0, 5)
	lines[2] = `{"event_type":"page_view","source":"web","payload":"not an object"}`
	file := bundle.writeFile(t, "mixed.ndjson", lines...)

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	require.Equal(t, []Rejection{{File: file, Line: 3, Reason: "payload: must be an object"}}, summary.Rejections)
	require.Equal(t, 5, summary.Sent)
	require.Equal(t, 4, summary.Accepted)
	require.Equal(t, 1, summary.Rejected)
	require.False(t, summary.OK())
	require.Equal(t, []string{lines[0], lines[1], lines[3], lines[4]}, bundle.api.storedItems())
	require.Equal(t, []int{5, 4}, bundle.api.requestSizes())
}

func TestRunRejectsOnlyLineWithInvalidUTF8(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	lines := validLines(0, 5)
	lines[2] = "{\"event_type\":\"page_view\",\"source\":\"web\",\"payload\":{\"city\":\"Z\xfcrich\"}}"
	file := bundle.writeFile(t, "latin1.ndjson", lines...)

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	offset := len(`{"event_type":"page_view","source":"web","payload":{"city":"Z`)
	reason := fmt.Sprintf("payload.city: is not valid UTF-8 (byte 0xFC at offset %d of the event)", offset)
	require.Equal(t, []Rejection{{File: file, Line: 3, Reason: reason}}, summary.Rejections)
	require.Equal(t, 5, summary.Sent)
	require.Equal(t, 4, summary.Accepted)
	require.Equal(t, 1, summary.Rejected)
	require.Equal(t, []string{lines[0], lines[1], lines[3], lines[4]}, bundle.api.storedItems())
	require.Equal(t, []int{5, 4}, bundle.api.requestSizes())
}

// TestFakeAPIInvalidUTF8LikeDecoder compares the fake's issue for an item
// with invalid UTF-8 with the first issue of the API's decoder.
func TestFakeAPIInvalidUTF8LikeDecoder(t *testing.T) {
	t.Parallel()

	items := []string{
		"{\"event_type\":\"e\",\"source\":\"s\",\"payload\":{\"a\":\"ok\",\"b\":\"\xff\"}}",
		"{\"event_type\":\"caf\xe9\",\"source\":\"s\"}",
		"{\"event_type\":\"e\",\"source\":\"s\",\"metadata\":{\"l\":[1,{\"k\":[\"\xc3\x28\"]}]}}",
		"{\"event_type\":\"e\",\"source\":\"s\",\"payload\":{\"k\xff\":1}}",
		"{\"event_type\":\"e\",\"sour\xffce\":\"s\"}",
	}

	for _, item := range items {
		_, _, err := serveringest.DecodeBatch([]byte("["+validLine(0)+","+item+"]"), time.Now())
		var validationErr *serveringest.ValidationError
		require.ErrorAs(t, err, &validationErr, "%q", item)
		want := validationErr.Issues[0]

		// The fake's issue goes through JSON, as the API's does.
		encoded, err := json.Marshal(validateItem(1, json.RawMessage(item)))
		require.NoError(t, err)
		var got []fakeIssue
		require.NoError(t, json.Unmarshal(encoded, &got))
		require.NotEmpty(t, got, "%q", item)

		wantPath, err := json.Marshal(want.Path)
		require.NoError(t, err)
		gotPath, err := json.Marshal(got[0].Path)
		require.NoError(t, err)
		require.JSONEq(t, string(wantPath), string(gotPath), "%q", item)
		require.Equal(t, want.Message, got[0].Message, "%q", item)
		require.Equal(t, want.Code, got[0].Code, "%q", item)
	}
}

func TestRunRejectsSeveralItemsWithIndexes(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	lines := validLines(0, 6)
	lines[0] = `{"source":"web"}`
	lines[4] = `{"event_type":"","source":""}`
	file := bundle.writeFile(t, "two-bad.ndjson", lines...)

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	require.Equal(t, []Rejection{
		{File: file, Line: 1, Reason: "event_type: must be a non-empty string"},
		{File: file, Line: 5, Reason: "event_type: must be a non-empty string; source: must be a non-empty string"},
	}, summary.Rejections)
	require.Equal(t, 4, summary.Accepted)
	require.Len(t, bundle.api.storedItems(), 4)
}

func TestRunRejectsInvalidJSONLocally(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "broken.ndjson", validLine(1), `{"event_type":`, `[1,2]`, `"text"`, `null`, validLine(2))

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	require.Len(t, summary.Rejections, 4)
	require.Equal(t, 2, summary.Rejections[0].Line)
	require.Contains(t, summary.Rejections[0].Reason, "invalid JSON")
	require.Equal(t, Rejection{File: file, Line: 3, Reason: "not a JSON object"}, summary.Rejections[1])
	require.Equal(t, Rejection{File: file, Line: 4, Reason: "not a JSON object"}, summary.Rejections[2])
	require.Equal(t, Rejection{File: file, Line: 5, Reason: "not a JSON object"}, summary.Rejections[3])
	require.Equal(t, 2, summary.Sent)
	require.Equal(t, 2, summary.Accepted)
	require.Equal(t, []string{validLine(1), validLine(2)}, bundle.api.storedItems())
}

func TestRunRetriesAfter503(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.unavailable = 1
	file := bundle.writeFile(t, "retry.ndjson", validLines(0, 10)...)

	var progress bytes.Buffer
	opts := bundle.options(file)
	opts.Progress = &progress
	started := time.Now()
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.GreaterOrEqual(t, time.Since(started), time.Second)
	require.Equal(t, 10, summary.Accepted)
	require.Equal(t, validLines(0, 10), bundle.api.storedItems())
	require.Contains(t, progress.String(), "503 Service Unavailable: Redis unavailable; retry 1 of 10 in 1s")
}

func TestRunNamesUnsentLinesAfterRetries(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.unavailable = 100
	file := bundle.writeFile(t, "busy.ndjson", validLines(0, 3)...)

	opts := bundle.options(file)
	opts.retry = retryPolicy{attempts: 2, backoffInitial: time.Millisecond, backoffMax: time.Millisecond, retryAfterMax: time.Millisecond}
	summary, err := Run(t.Context(), opts)

	require.ErrorContains(t, err, "error sending the 3 events of lines 1 to 3 of "+file+" to ")
	require.ErrorContains(t, err, "after 3 attempts, so they were not sent: server returned 503 Service Unavailable: Redis unavailable")
	require.Zero(t, summary.Accepted)
}

func TestRunNamesOneUnsentEvent(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.unavailable = 100
	file := bundle.writeFile(t, "one.ndjson", validLine(0))

	opts := bundle.options(file)
	opts.Retries = -1
	summary, err := Run(t.Context(), opts)

	require.ErrorContains(t, err, "error sending the event of "+file+":1 to ")
	require.ErrorContains(t, err, "after 1 attempt, so it was not sent: server returned 503 Service Unavailable: Redis unavailable")
	require.NotContains(t, err.Error(), "the 1 events")
	require.Zero(t, summary.Accepted)
}

func TestRunRetriesAsOptionsSay(t *testing.T) {
	t.Parallel()

	cases := []struct {
		retries  int
		attempts string
	}{
		{retries: 4, attempts: "after 5 attempts"},
		{retries: -1, attempts: "after 1 attempt,"},
	}
	for _, tc := range cases {
		bundle := setup(t)
		bundle.api.unavailable = 100
		file := bundle.writeFile(t, "busy.ndjson", validLines(0, 3)...)

		opts := bundle.options(file)
		opts.retry = retryPolicy{attempts: 2, backoffInitial: time.Millisecond, backoffMax: time.Millisecond, retryAfterMax: time.Millisecond}
		opts.Retries = tc.retries
		_, err := Run(t.Context(), opts)

		require.ErrorContains(t, err, tc.attempts, "retries %d", tc.retries)
	}
}

func TestRunStopsWhenServerUnreachable(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "down.ndjson", validLines(0, 3)...)
	bundle.server.Close()

	opts := bundle.options(file)
	opts.retry = retryPolicy{attempts: 2, backoffInitial: time.Millisecond, backoffMax: time.Millisecond, retryAfterMax: time.Second}
	summary, err := Run(t.Context(), opts)

	require.ErrorContains(t, err, "after 3 attempts")
	require.Zero(t, summary.Sent)
}

func TestRunCapsBatchSize(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "large.ndjson", validLines(0, 2500)...)

	opts := bundle.options(file)
	opts.BatchSize = BatchSizeMax + 1
	_, err := Run(t.Context(), opts)
	require.ErrorContains(t, err, "invalid batch size 1001")

	opts.BatchSize = BatchSizeMax
	opts.Concurrency = 1
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.Equal(t, 2500, summary.Accepted)
	require.Equal(t, []int{1000, 1000, 500}, bundle.api.requestSizes())
}

func TestRunUsesDefaultBatchSize(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "default.ndjson", validLines(0, 1200)...)

	opts := bundle.options(file)
	opts.Concurrency = 1
	_, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.Equal(t, []int{500, 500, 200}, bundle.api.requestSizes())
}

func TestRunSkipsBlankLines(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bad := `{"event_type":"page_view"}`
	file := bundle.writeFile(t, "blank.ndjson", "", validLine(1), "   ", "\t", validLine(2), "", bad, "")

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	require.Equal(t, 3, summary.Sent)
	require.Equal(t, []Rejection{{File: file, Line: 7, Reason: "source: must be a non-empty string"}}, summary.Rejections)
	require.Equal(t, []string{validLine(1), validLine(2)}, bundle.api.storedItems())
}

func TestRunAcceptsCRLFAndLastLineWithoutNewline(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	path := filepath.Join(bundle.dir, "crlf.ndjson")
	require.NoError(t, os.WriteFile(path, []byte(validLine(1)+"\r\n"+validLine(2)), 0o600))

	summary, err := Run(t.Context(), bundle.options(path))
	require.NoError(t, err)

	require.Equal(t, 2, summary.Accepted)
	require.Equal(t, []string{validLine(1), validLine(2)}, bundle.api.storedItems())
}

// lineOfSize returns a valid event line of exactly size bytes.
func lineOfSize(t *testing.T, size int) string {
	t.Helper()

	const head, tail = `{"event_type":"big","source":"web","payload":{"text":"`, `"}}`
	require.GreaterOrEqual(t, size, len(head)+len(tail))

	return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
}

func TestRunRejectsLineOverMaxSize(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.maxBodyBytes = MaxBodyBytesDefault
	longest := lineOfSize(t, LineSizeMaxDefault)
	file := bundle.writeFile(t, "long.ndjson", validLine(1), lineOfSize(t, LineSizeMaxDefault+1), longest, validLine(3))

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	require.Equal(t, []Rejection{{File: file, Line: 2,
		Reason: "line is longer than 8388606 bytes, the longest event that fits in a request body of 8388608 bytes"}},
		summary.Rejections)
	require.Equal(t, 3, summary.Accepted)
	require.Equal(t, []string{validLine(1), longest, validLine(3)}, bundle.api.storedItems())
}

func TestRunLineLimitFollowsMaxBodyBytes(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.maxBodyBytes = 2048
	longest := lineOfSize(t, 2046)
	file := bundle.writeFile(t, "limit.ndjson", lineOfSize(t, 2047), longest)

	opts := bundle.options(file)
	opts.MaxBodyBytes = 2048
	require.Equal(t, int64(2046), opts.LineSizeMax())

	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.Equal(t, []Rejection{{File: file, Line: 1,
		Reason: "line is longer than 2046 bytes, the longest event that fits in a request body of 2048 bytes"}},
		summary.Rejections)
	require.Equal(t, []string{longest}, bundle.api.storedItems())
}

// TestRunBoundsBatchBodyByMaxBodyBytes sends lines of 600 bytes with a
// 2048-byte limit: three make a body of 1804 bytes, and a fourth would
// take it to 2405, so each request carries three lines and none gets 413.
func TestRunBoundsBatchBodyByMaxBodyBytes(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.maxBodyBytes = 2048
	lines := make([]string, 7)
	for i := range lines {
		lines[i] = lineOfSize(t, 600)
	}
	file := bundle.writeFile(t, "bounded.ndjson", lines...)

	opts := bundle.options(file)
	opts.MaxBodyBytes = 2048
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.Equal(t, 7, summary.Accepted)
	require.Empty(t, summary.Rejections)
	require.Equal(t, []int{3, 3, 1}, bundle.api.batchSizes)
}

func TestOptionsValidateMaxBodyBytes(t *testing.T) {
	t.Parallel()

	err := Options{Files: []string{"a.ndjson"}, MaxBodyBytes: 1023}.Validate()
	require.EqualError(t, err, "invalid max body size 1023: must be at least 1024 bytes, as on the server")

	require.NoError(t, Options{Files: []string{"a.ndjson"}, MaxBodyBytes: 1024}.Validate())
	require.Equal(t, int64(8<<20-2), Options{}.LineSizeMax())
}

func TestRunRejectsWholeBatchOn400WithoutIssues(t *testing.T) {
	t.Parallel()

	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "malformed body"})
	}))
	t.Cleanup(server.Close)

	bundle := setup(t)
	file := bundle.writeFile(t, "whole.ndjson", validLines(0, 2)...)
	summary, err := Run(t.Context(), Options{URL: server.URL, Files: []string{file}})
	require.NoError(t, err)

	reason := "server rejected the whole batch: malformed body"
	require.Equal(t, []Rejection{{File: file, Line: 1, Reason: reason}, {File: file, Line: 2, Reason: reason}}, summary.Rejections)
	require.Equal(t, 2, summary.Sent)
	require.Zero(t, summary.Accepted)
}

func TestRunSplitsBatchOn413(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 300 {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "body too large"})

			return
		}

		bundle.api.ServeHTTP(w, r)
	}))
	t.Cleanup(limited.Close)

	huge := `{"event_type":"big","source":"web","payload":{"text":"` + strings.Repeat("y", 400) + `"}}`
	lines := append(validLines(0, 6), huge)
	file := bundle.writeFile(t, "split.ndjson", lines...)
	summary, err := Run(t.Context(), Options{URL: limited.URL, Files: []string{file}})
	require.NoError(t, err)

	require.Equal(t, 6, summary.Accepted)
	require.Equal(t, []Rejection{{File: file, Line: 7, Reason: "event is larger than the server's request size limit (413)"}}, summary.Rejections)
	require.ElementsMatch(t, validLines(0, 6), bundle.api.storedItems())
}

func TestRunSendsAPIKey(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.apiKey = "secret-key"
	file := bundle.writeFile(t, "auth.ndjson", validLine(1))

	_, err := Run(t.Context(), bundle.options(file))
	require.ErrorContains(t, err, "401 Unauthorized: invalid API key")

	var statusErr *StatusError
	require.ErrorAs(t, err, &statusErr)
	require.Equal(t, http.StatusUnauthorized, statusErr.Status)
	require.Equal(t, "invalid API key", statusErr.Message)

	opts := bundle.options(file)
	opts.APIKey = "secret-key"
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)
	require.Equal(t, 1, summary.Accepted)
}

func TestRunFailsOnMissingFile(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	missing := filepath.Join(bundle.dir, "missing.ndjson")

	_, err := Run(t.Context(), bundle.options(missing))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, fmt.Sprintf("%q", missing))
	require.Empty(t, bundle.api.requestSizes())
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.unavailable = 1000
	file := bundle.writeFile(t, "cancel.ndjson", validLines(0, 10)...)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()

	started := time.Now()
	_, err := Run(ctx, bundle.options(file))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(started), time.Second)
}

func TestOptionsValidateListsEveryProblem(t *testing.T) {
	t.Parallel()

	err := Options{URL: "ftp://host", BatchSize: -1, Concurrency: -2}.Validate()
	require.ErrorContains(t, err, `invalid API URL "ftp://host"`)
	require.ErrorContains(t, err, "no input files")
	require.ErrorContains(t, err, "invalid batch size -1")
	require.ErrorContains(t, err, "invalid concurrency -2")

	require.NoError(t, Options{Files: []string{"events.ndjson"}}.Validate())
}

func TestRunWritesPlainProgress(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "progress.ndjson", validLines(0, 3)...)

	var progress bytes.Buffer
	opts := bundle.options(file)
	opts.Progress = &progress
	_, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.Regexp(t, `ingest: 3 events sent, 3 accepted, 0 rejected, \d+ events/s, 100% of input done\n$`, progress.String())
}

func TestSummaryWriteCountsUnsentRejections(t *testing.T) {
	t.Parallel()

	cases := []struct {
		summary Summary
		first   string
	}{
		{
			Summary{Sent: 5, Accepted: 3, Rejected: 3, Duration: time.Second},
			"ingest: 5 events sent in 1s (5 events/s): 3 accepted, 2 rejected; 1 more line rejected before sending",
		},
		{
			Summary{Sent: 0, Accepted: 0, Rejected: 4, Duration: time.Second},
			"ingest: 0 events sent in 1s (0 events/s): 0 accepted, 0 rejected; 4 more lines rejected before sending",
		},
	}

	for _, c := range cases {
		var output bytes.Buffer
		c.summary.Write(&output)
		first, _, _ := strings.Cut(output.String(), "\n")
		require.Equal(t, c.first, first)
	}
}

func TestRunReadsStandardInput(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	lines := append(validLines(0, 3), "not json")

	var progress bytes.Buffer
	opts := bundle.options(StdinName)
	opts.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	opts.Progress = &progress
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.Equal(t, 3, summary.Accepted)
	require.Equal(t, 3, summary.Sent)
	require.Len(t, summary.Rejections, 1)
	require.Equal(t, StdinName, summary.Rejections[0].File)
	require.Equal(t, 4, summary.Rejections[0].Line)
	require.Contains(t, summary.Rejections[0].Reason, "JSON")
	require.Regexp(t, `ingest: 3 events sent, 3 accepted, 0 rejected, 1 line rejected before sending, \d+ events/s\n$`, progress.String(),
		"the size of the standard input is not known, so no share of it is given")
}

func TestOptionsRejectStandardInputTwice(t *testing.T) {
	t.Parallel()

	err := Options{Files: []string{StdinName, "a.ndjson", StdinName}}.Validate()
	require.ErrorContains(t, err, "standard input (-) is given more than once")
}

func TestSummaryWriteCapsListing(t *testing.T) {
	t.Parallel()

	summary := Summary{Sent: 150, Accepted: 0, Rejected: 150, Duration: 2 * time.Second}
	for i := range 150 {
		summary.Rejections = append(summary.Rejections, Rejection{File: "a.ndjson", Line: i + 1, Reason: "invalid"})
	}

	var output bytes.Buffer
	summary.Write(&output)
	lines := strings.Split(strings.TrimSuffix(output.String(), "\n"), "\n")

	require.Len(t, lines, 102)
	require.Equal(t, "ingest: 150 events sent in 2s (75 events/s): 0 accepted, 150 rejected", lines[0])
	require.Equal(t, "a.ndjson:1: invalid", lines[1])
	require.Equal(t, "... 50 more rejections not listed", lines[101])
}

func TestRunStartsBatchAtRepeatedEventID(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	line := func(id string, n int) string {
		return fmt.Sprintf(`{"event_id":"%s","event_type":"page_view","source":"web","payload":{"n":%d}}`, id, n)
	}
	const a, b = "0193a1b2-0000-7000-8000-00000000000a", "0193a1b2-0000-7000-8000-00000000000b"
	lines := []string{
		line(a, 1), line(b, 2), line(strings.ToUpper(a), 1), validLine(3), line(b, 2), validLine(4),
	}
	file := bundle.writeFile(t, "repeated.ndjson", lines...)

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	require.Equal(t, []int{2, 4}, bundle.api.requestSizes(), "the repeated id of line 3 starts the second batch")
	require.Equal(t, 6, summary.Accepted)
	require.Zero(t, summary.Rejected)
}

func TestRunNamesByteOrderMark(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	lines := validLines(0, 2)
	lines[0] = "\xef\xbb\xbf" + lines[0]
	file := bundle.writeFile(t, "bom.ndjson", lines...)

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)

	require.Equal(t, 1, summary.Accepted)
	require.Equal(t, []Rejection{{File: file, Line: 1,
		Reason: "invalid JSON: the line starts with a UTF-8 byte order mark (EF BB BF); save the file without it"}}, summary.Rejections)
}

func TestRunNamesLineToContinueFrom(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.servedMax = 2
	file := bundle.writeFile(t, "stop.ndjson", validLines(1, 10)...)

	opts := bundle.options(file)
	opts.BatchSize = 3
	opts.Retries = -1
	summary, err := Run(t.Context(), opts)

	require.ErrorContains(t, err, "error sending the 3 events of lines 7 to 9 of "+file+" to ")
	require.Equal(t, 6, summary.Accepted)
	require.Equal(t, []UnsentFile{{File: file, FromLine: 7}}, summary.Unsent)

	var report bytes.Buffer
	summary.Write(&report)
	require.Contains(t, report.String(), "ingest: the run stopped before sending every line")
	require.Contains(t, report.String(), "eventpulse ingest --start-line 7 "+file+"\n")

	bundle.api.mu.Lock()
	bundle.api.servedMax = 0
	bundle.api.mu.Unlock()

	opts.StartLine = 7
	summary, err = Run(t.Context(), opts)
	require.NoError(t, err)
	require.Equal(t, 4, summary.Accepted)
	require.Empty(t, summary.Unsent)
	require.Equal(t, validLines(1, 10), bundle.api.storedItems())
}

func TestRunStartLineSkipsEarlierLines(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "skip.ndjson", "not json", validLine(2), "", validLine(4), validLine(5))

	opts := bundle.options(file)
	opts.StartLine = 4
	summary, err := Run(t.Context(), opts)

	require.NoError(t, err)
	require.Equal(t, 2, summary.Accepted)
	require.Zero(t, summary.Rejected)
	require.Equal(t, []string{validLine(4), validLine(5)}, bundle.api.storedItems())
}

func TestRunContinuesAfterBlankAndRejectedLines(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.servedMax = 1
	file := bundle.writeFile(t, "mixed.ndjson", validLine(1), validLine(2), "", "not json", validLine(5), validLine(6))

	opts := bundle.options(file)
	opts.BatchSize = 2
	opts.Retries = -1
	summary, err := Run(t.Context(), opts)

	require.Error(t, err)
	require.Equal(t, 2, summary.Accepted)
	require.Equal(t, []UnsentFile{{File: file, FromLine: 5}}, summary.Unsent)
	require.Equal(t, []Rejection{{File: file, Line: 4, Reason: "invalid JSON: invalid character 'o' in literal null (expecting 'u')"}}, summary.Rejections)
}

// A failing file stops the others after the request they have in flight.
// Every file then has exactly the lines before its FromLine stored, or all
// of its lines when it is not listed.
func TestRunStopsEveryFileAtLineItNames(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	bundle.api.unavailableMarker = `"fail"`

	failing := bundle.writeFile(t, "failing.ndjson", validLine(1), validLine(2), `{"event_type":"fail","source":"web"}`, validLine(4))
	files := []string{failing}
	contents := map[string][]string{failing: {validLine(1), validLine(2), `{"event_type":"fail","source":"web"}`, validLine(4)}}
	for i := range 3 {
		name := fmt.Sprintf("other-%d.ndjson", i)
		lines := validLines(i*1000, 40)
		files = append(files, bundle.writeFile(t, name, lines...))
		contents[files[len(files)-1]] = lines
	}

	opts := bundle.options(files...)
	opts.BatchSize = 2
	opts.Concurrency = 2
	opts.Retries = -1
	summary, err := Run(t.Context(), opts)

	require.ErrorContains(t, err, "error sending the 2 events of lines 3 to 4 of "+failing+" to ")
	require.Equal(t, UnsentFile{File: failing, FromLine: 3}, summary.Unsent[0])

	fromLine := map[string]int{}
	for _, unsent := range summary.Unsent {
		fromLine[unsent.File] = unsent.FromLine
	}

	var expected []string
	for _, file := range files {
		lines := contents[file]
		if from, found := fromLine[file]; found {
			lines = lines[:from-1]
		}
		expected = append(expected, lines...)
	}

	require.ElementsMatch(t, expected, bundle.api.storedItems())
	require.Equal(t, len(expected), summary.Accepted)
}

func TestOptionsValidateStartLine(t *testing.T) {
	t.Parallel()

	err := Options{Files: []string{"a.ndjson", "b.ndjson"}, StartLine: 5}.Validate()
	require.ErrorContains(t, err, "invalid start line 5: it needs exactly one input file, got 2")

	err = Options{Files: []string{"a.ndjson"}, StartLine: -1}.Validate()
	require.ErrorContains(t, err, "invalid start line -1: must be at least 1")

	require.NoError(t, Options{Files: []string{"a.ndjson"}, StartLine: 5}.Validate())
	require.NoError(t, Options{Files: []string{"a.ndjson", "b.ndjson"}, StartLine: 1}.Validate())
}

func TestSummaryWriteQuotesFileNames(t *testing.T) {
	t.Parallel()

	summary := Summary{Unsent: []UnsentFile{
		{File: "data/app-1.ndjson", FromLine: 3},
		{File: "my events.ndjson", FromLine: 1},
		{File: "it's.ndjson", FromLine: 9},
	}}

	var report bytes.Buffer
	summary.Write(&report)
	require.Contains(t, report.String(), "  eventpulse ingest --start-line 3 data/app-1.ndjson\n")
	require.Contains(t, report.String(), "  eventpulse ingest --start-line 1 'my events.ndjson'\n")
	require.Contains(t, report.String(), `  eventpulse ingest --start-line 9 'it'\''s.ndjson'`+"\n")
}

func TestRunStartLineBeyondFile(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "short.ndjson", validLines(1, 3)...)

	opts := bundle.options(file)
	opts.StartLine = 4
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err, "the line after the last one sends nothing")
	require.Zero(t, summary.Sent)

	opts.StartLine = 99
	_, err = Run(t.Context(), opts)
	require.EqualError(t, err, fmt.Sprintf("error reading file %q: it has 3 lines, so it has no start line 99", file))
	require.Empty(t, bundle.api.storedItems())
}

// rateDigits matches the events per second of progress and summary lines,
// which depend on timing.
var rateDigits = regexp.MustCompile(`\d+ events/s`)

func TestRunProgressSplitsRejections(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	noSource := `{"event_type":"page_view"}`
	file := bundle.writeFile(t, "split.ndjson", validLine(1), "not json", "", noSource, "[1]", validLine(6))

	var progress bytes.Buffer
	opts := bundle.options(file)
	opts.Progress = &progress
	summary, err := Run(t.Context(), opts)
	require.NoError(t, err)

	lines := strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n")
	require.Equal(t,
		"ingest: 3 events sent, 2 accepted, 1 rejected, 2 lines rejected before sending, N events/s, 100% of input done",
		rateDigits.ReplaceAllString(lines[len(lines)-1], "N events/s"))

	var report bytes.Buffer
	summary.Write(&report)
	first, _, _ := strings.Cut(report.String(), "\n")
	require.Equal(t,
		"ingest: 3 events sent in D (N events/s): 2 accepted, 1 rejected; 2 more lines rejected before sending, 1 blank line skipped",
		regexp.MustCompile(`in \S+ \(\d+ events/s\)`).ReplaceAllString(first, "in D (N events/s)"))
}

func TestBarDescriptionSplitsRejections(t *testing.T) {
	t.Parallel()

	cases := []struct {
		snapshot progressSnapshot
		expected string
	}{
		{progressSnapshot{sent: 3, accepted: 3}, "ingest: 3 accepted, 0 rejected"},
		{progressSnapshot{sent: 6, accepted: 4, rejected: 2, rejectedBeforeSending: 2},
			"ingest: 4 accepted, 2 rejected, 2 lines rejected before sending"},
		{progressSnapshot{rejectedBeforeSending: 1}, "ingest: 0 accepted, 0 rejected, 1 line rejected before sending"},
	}

	for _, c := range cases {
		require.Equal(t, c.expected, barDescription(c.snapshot))
	}
}

func TestRunWritesSingularProgress(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "one.ndjson", validLine(1))

	var progress bytes.Buffer
	opts := bundle.options(file)
	opts.Progress = &progress
	_, err := Run(t.Context(), opts)
	require.NoError(t, err)

	require.Regexp(t, `(?m)^ingest: 1 event sent, 1 accepted, 0 rejected, \d+ events/s, 100% of input done\n$`, progress.String())
}

func TestRunCountsBlankLinesFromStartLine(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "blank.ndjson", "", validLine(2), "  ", "", "\t", validLine(6), "")

	summary, err := Run(t.Context(), bundle.options(file))
	require.NoError(t, err)
	require.Equal(t, 5, summary.BlankLines)
	require.True(t, summary.OK(), "blank lines are not rejections")

	opts := bundle.options(file)
	opts.StartLine = 4
	summary, err = Run(t.Context(), opts)
	require.NoError(t, err)
	require.Equal(t, 3, summary.BlankLines, "lines 1 and 3, before the start line, are not counted")
}

func TestSummaryWriteCountsBlankLines(t *testing.T) {
	t.Parallel()

	cases := []struct {
		summary Summary
		first   string
	}{
		{
			Summary{Sent: 4, Accepted: 4, BlankLines: 2, Duration: time.Second},
			"ingest: 4 events sent in 1s (4 events/s): 4 accepted, 0 rejected; 2 blank lines skipped",
		},
		{
			Summary{Sent: 6, Accepted: 4, Rejected: 4, BlankLines: 1, Duration: time.Second},
			"ingest: 6 events sent in 1s (6 events/s): 4 accepted, 2 rejected; 2 more lines rejected before sending, 1 blank line skipped",
		},
	}

	for _, c := range cases {
		var output bytes.Buffer
		c.summary.Write(&output)
		require.Equal(t, c.first+"\n", output.String())
	}
}

func TestSummaryWriteSingularCounts(t *testing.T) {
	t.Parallel()

	summary := Summary{Sent: 1, Accepted: 1, Duration: time.Second, Ignored: []Rejection{
		{File: "a.ndjson", Line: 1, Reason: `member "paylod" was ignored`},
	}}

	var output bytes.Buffer
	summary.Write(&output)
	require.Equal(t, "ingest: 1 event sent in 1s (1 events/s): 1 accepted, 0 rejected\n"+
		"ingest: 1 member of an accepted event was ignored, because events have no such member\n"+
		`a.ndjson:1: warning: member "paylod" was ignored`+"\n", output.String())
}

func TestSummaryWritePluralIgnoredMembers(t *testing.T) {
	t.Parallel()

	summary := Summary{Sent: 2, Accepted: 2, Duration: time.Second, Ignored: []Rejection{
		{File: "a.ndjson", Line: 1, Reason: `member "paylod" was ignored`},
		{File: "a.ndjson", Line: 2, Reason: `member "sorce" was ignored`},
	}}

	var output bytes.Buffer
	summary.Write(&output)
	require.Equal(t, "ingest: 2 events sent in 1s (2 events/s): 2 accepted, 0 rejected\n"+
		"ingest: 2 members of accepted events were ignored, because events have no such members\n"+
		`a.ndjson:1: warning: member "paylod" was ignored`+"\n"+
		`a.ndjson:2: warning: member "sorce" was ignored`+"\n", output.String())
}

func TestSummaryWriteOneMoreNotListed(t *testing.T) {
	t.Parallel()

	summary := Summary{Sent: 101, Accepted: 0, Rejected: 101, Duration: time.Second}
	for i := range 101 {
		summary.Rejections = append(summary.Rejections, Rejection{File: "a.ndjson", Line: i + 1, Reason: "invalid"})
	}

	var output bytes.Buffer
	summary.Write(&output)
	require.True(t, strings.HasSuffix(output.String(), "a.ndjson:100: invalid\n... 1 more rejection not listed\n"),
		"output ends with %q", output.String()[max(output.Len()-80, 0):])
}

func TestRunStartLinePastEndPrintsNoResume(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	file := bundle.writeFile(t, "one.ndjson", validLine(1))

	opts := bundle.options(file)
	opts.StartLine = 3
	summary, err := Run(t.Context(), opts)
	require.EqualError(t, err, fmt.Sprintf("error reading file %q: it has 1 line, so it has no start line 3", file))
	require.Empty(t, summary.Unsent)

	summary.Duration = time.Second
	var report bytes.Buffer
	summary.Write(&report)
	require.Equal(t, "ingest: 0 events sent in 1s (0 events/s): 0 accepted, 0 rejected\n", report.String())
}

// A Unix socket passes the check that a file exists and is not a directory,
// but opening it fails, even for root.
func TestRunUnopenableFilePrintsNoResume(t *testing.T) {
	t.Parallel()

	bundle := setup(t)
	socketDir, err := os.MkdirTemp("", "ingest")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(socketDir) })

	socket := filepath.Join(socketDir, "events.sock")
	listener, err := net.Listen("unix", socket)
	require.NoError(t, err)
	t.Cleanup(func() { _ = listener.Close() })

	other := bundle.writeFile(t, "other.ndjson", validLine(1))

	opts := bundle.options(socket, other)
	opts.Concurrency = 1
	summary, err := Run(t.Context(), opts)
	require.EqualError(t, err, fmt.Sprintf("error opening file %q: open %s: no such device or address", socket, socket))
	require.Equal(t, []UnsentFile{{File: other, FromLine: 1}}, summary.Unsent,
		"the file that was not started gets a line to continue from, the unopenable one does not")

	summary.Duration = time.Second
	var report bytes.Buffer
	summary.Write(&report)
	require.Equal(t, "ingest: 0 events sent in 1s (0 events/s): 0 accepted, 0 rejected\n"+
		"ingest: the run stopped before sending every line; to send the rest, run with the same options:\n"+
		"  eventpulse ingest --start-line 1 "+other+"\n", report.String())
}
