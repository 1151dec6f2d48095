package ingest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/ingest"
)

var fuzzReceivedAt = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// fuzzSeeds are grouped by what they exercise; the committed corpus in
// testdata/fuzz holds more.
var fuzzSeeds = []string{
	// Valid events.
	`{"event_type":"error","source":"web","payload":{"a":[1,2.5,{"b":null}],"c":true},"metadata":{}}`,
	`{"event_id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","event_type":"e","source":"s","timestamp":"2024-05-01T12:00:00.123+02:00"}`,
	`{"event_type":"日本","source":"✓","payload":{"big":123456789012345678901234567890}}`,
	// Names.
	`{"event_type":"","source":"s"}`,
	`{"event_type":"a\u0007","source":"s"}`,
	`{"event_type":" ","source":"\u0000"}`,
	`{"event_type":"\ud83d\udd25\u200d\ud83d\udd25","source":"a\u200db"}`,
	// Values PostgreSQL cannot store.
	`{"event_type":"e","source":"s","payload":{"k":"\u0000"}}`,
	`{"event_type":"e","source":"s","payload":{"n":1e200000}}`,
	`{"event_type":"e","source":"s","payload":{"n":-0.000e-99999}}`,
	`{"event_type":"e","source":"s","payload":{"\ud800":"lone surrogate"}}`,
	// Shapes.
	`{"event_type":"e","source":"s","payload":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"event_type":"e","source":"s","payload":"x"}`,
	`{"event_type":"e","source":"s","event_type":"f"}`,
	`{"event_type":"e","source":"s","paylod":{},"Payload":1,"paylod":[],"\u0070aylod":null}`,
	`{"event_type":`,
	"\xff",
	// Bytes that are not UTF-8 inside strings and member names.
	"{\"event_type\":\"e\xe9\",\"source\":\"s\",\"payload\":{\"k\xff\":[\"\xc3\x28\"]}}",
	// Times and ids.
	`{"event_type":"e","source":"s","timestamp":"0001-01-01T00:00:00Z"}`,
	`{"event_type":"e","source":"s","timestamp":"2024-13-01T00:00:00Z"}`,
	`{"event_type":"e","source":"s","event_id":"00000000-0000-0000-0000-000000000000"}`,
	`{"event_type":"e","source":"s","event_id":"urn:uuid:7d444840-9dc0-11d1-b245-5ffdce74fad2"}`,
}

func FuzzDecodeEvent(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		event, ignored, err := ingest.DecodeEvent(body, fuzzReceivedAt)
		if err != nil {
			checkValidationError(t, err)
			return
		}

		checkEvent(t, event)
		checkIgnored(t, ignored)
	})
}

func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add([]byte("[" + seed + "]"))
		f.Add([]byte("[" + seed + "," + fuzzSeeds[0] + "]"))
	}
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"event_id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","event_type":"e","source":"s"},` +
		`{"event_id":"7D444840-9DC0-11D1-B245-5FFDCE74FAD2","event_type":"e","source":"s"}]`))

	f.Fuzz(func(t *testing.T, body []byte) {
		batch, ignored, err := ingest.DecodeBatch(body, fuzzReceivedAt)
		if err != nil {
			checkValidationError(t, err)
			return
		}

		checkIgnoredInBatch(t, ignored, len(batch))

		if len(batch) == 0 || len(batch) > ingest.MaxBatchEvents {
			t.Fatalf("accepted a batch of %d events", len(batch))
		}

		seen := map[uuid.UUID]bool{}
		for _, event := range batch {
			checkEvent(t, event)

			if seen[event.EventID] {
				t.Fatalf("accepted event_id %s twice in one batch", event.EventID)
			}
			seen[event.EventID] = true
		}
	})
}

// eventFieldNames are the top-level members of an event that decoding reads.
var eventFieldNames = []string{"event_id", "event_type", "source", "timestamp", "payload", "metadata"}

// checkIgnored asserts that the ignored names of one event are distinct
// and that none is a field of an event.
func checkIgnored(t *testing.T, names []string) {
	t.Helper()

	seen := map[string]bool{}
	for _, name := range names {
		if slices.Contains(eventFieldNames, name) {
			t.Fatalf("reported the event field %q as ignored", name)
		}

		if seen[name] {
			t.Fatalf("reported the ignored field %q twice", name)
		}
		seen[name] = true
	}
}

// checkIgnoredInBatch asserts that the ignored fields of a batch of n
// events are in item order, and checks each item's names as checkIgnored
// does.
func checkIgnoredInBatch(t *testing.T, ignored []ingest.IgnoredField, n int) {
	t.Helper()

	byItem := map[int][]string{}
	for i, field := range ignored {
		if field.Index < 0 || field.Index >= n {
			t.Fatalf("ignored field %+v names no item of %d", field, n)
		}

		if i > 0 && field.Index < ignored[i-1].Index {
			t.Fatalf("ignored field %+v comes after %+v", field, ignored[i-1])
		}

		byItem[field.Index] = append(byItem[field.Index], field.Field)
	}

	for _, names := range byItem {
		checkIgnored(t, names)
	}
}

func checkValidationError(t *testing.T, err error) {
	t.Helper()

	var validationErr *ingest.ValidationError
	if !errors.As(err, &validationErr) {
		t.Fatalf("error %T is not a *ValidationError: %v", err, err)
	}

	if len(validationErr.Issues) == 0 {
		t.Fatal("validation error without issues")
	}

	for _, issue := range validationErr.Issues {
		if issue.Message == "" || issue.Code == "" || issue.Path == nil {
			t.Fatalf("incomplete issue %+v", issue)
		}
	}
}

// checkEvent asserts what every accepted event must satisfy for the log,
// the events table and PostgreSQL's jsonb.
func checkEvent(t *testing.T, event events.IngestedEvent) {
	t.Helper()

	checkName(t, "event_type", event.EventType)
	checkName(t, "source", event.Source)

	if event.EventID == uuid.Nil {
		t.Fatal("accepted the nil UUID")
	}

	if _, err := uuid.Parse(event.EventID.String()); err != nil {
		t.Fatalf("accepted event_id %s: %v", event.EventID, err)
	}

	if !event.ReceivedAt.Equal(fuzzReceivedAt) {
		t.Fatalf("received_at %s, want %s", event.ReceivedAt, fuzzReceivedAt)
	}

	if event.Timestamp.Year() < 1970 || event.Timestamp.Year() >= 2100 || event.Timestamp.Location() != time.UTC {
		t.Fatalf("accepted timestamp %s", event.Timestamp)
	}

	checkObject(t, "payload", event.Payload)
	checkObject(t, "metadata", event.Metadata)
}

func checkName(t *testing.T, field, name string) {
	t.Helper()

	length := utf8.RuneCountInString(name)
	if length == 0 || length > ingest.MaxNameLength || strings.TrimSpace(name) == "" || !utf8.ValidString(name) {
		t.Fatalf("accepted %s %q", field, name)
	}

	for i, r := range name {
		// An accepted U+200D joins two emoji, so it is never first or last.
		joiner := r == '\u200d' && i > 0 && i+len("\u200d") < len(name)
		if !unicode.IsPrint(r) && !joiner {
			t.Fatalf("accepted %s %q with the unprintable %U", field, name, r)
		}
	}
}

func checkObject(t *testing.T, field string, raw json.RawMessage) {
	t.Helper()

	if !utf8.Valid(raw) || !json.Valid(raw) {
		t.Fatalf("accepted %s that is not valid UTF-8 JSON: %q", field, raw)
	}

	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()

	var value any
	if err := decoder.Decode(&value); err != nil {
		t.Fatalf("accepted %s that does not decode: %v", field, err)
	}

	if _, ok := value.(map[string]any); !ok {
		t.Fatalf("accepted %s that is not an object: %q", field, raw)
	}

	if containsNUL(value) {
		t.Fatalf("accepted %s containing NUL: %q", field, raw)
	}
}

func containsNUL(value any) bool {
	switch v := value.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		for _, item := range v {
			if containsNUL(item) {
				return true
			}
		}
	case map[string]any:
		for key, item := range v {
			if strings.IndexByte(key, 0) >= 0 || containsNUL(item) {
				return true
			}
		}
	}

	return false
}
