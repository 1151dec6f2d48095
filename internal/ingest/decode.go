package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-faster/jx"
	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
)

var emptyObject = json.RawMessage(`{}`)

// DecodeEvent decodes and validates the body of a single-event request.
// receivedAt becomes the event's ReceivedAt and, when the client sent no
// timestamp, its Timestamp. It also returns the names of the top-level
// members that are not fields of an event, which it skipped, each once and
// nil when there are none. A returned error is a *ValidationError.
func DecodeEvent(body []byte, receivedAt time.Time) (events.IngestedEvent, []string, error) {
	if !utf8.Valid(body) {
		return events.IngestedEvent{}, nil, &ValidationError{Issues: invalidUTF8Issues(body, receivedAt, false)}
	}

	if issue := checkBody(body, false); issue != nil {
		return events.IngestedEvent{}, nil, &ValidationError{Issues: []Issue{*issue}}
	}

	event, ignored, issues := decodeEvent(body, nil, receivedAt, nil)
	if len(issues) > 0 {
		return events.IngestedEvent{}, nil, &ValidationError{Issues: issues}
	}

	return event, ignored, nil
}

// DecodeBatch decodes and validates the body of a batch request: a JSON
// array of 1 to MaxBatchEvents events with distinct ids. It also returns
// the top-level members of items that are not fields of an event, which it
// skipped, in item order and nil when there are none. One invalid event
// fails the whole batch. A returned error is a *ValidationError listing
// every issue, each path starting with the item's index.
func DecodeBatch(body []byte, receivedAt time.Time) ([]events.IngestedEvent, []IgnoredField, error) {
	if !utf8.Valid(body) {
		return nil, nil, &ValidationError{Issues: invalidUTF8Issues(body, receivedAt, true)}
	}

	if issue := checkBody(body, true); issue != nil {
		return nil, nil, &ValidationError{Issues: []Issue{*issue}}
	}

	items, issue := splitArray(body)
	if issue != nil {
		return nil, nil, &ValidationError{Issues: []Issue{*issue}}
	}

	batch := make([]events.IngestedEvent, 0, len(items))
	ids := newIDGenerator(receivedAt, len(items))
	var issues []Issue
	var ignored []IgnoredField
	firstIndex := make(map[uuid.UUID]int, len(items))

	for i, item := range items {
		event, itemIgnored, itemIssues := decodeEvent(item, []any{i}, receivedAt, ids)
		issues = append(issues, itemIssues...)

		for _, name := range itemIgnored {
			ignored = append(ignored, IgnoredField{Index: i, Field: name})
		}

		if len(itemIssues) == 0 {
			if first, seen := firstIndex[event.EventID]; seen {
				issues = append(issues, Issue{
					Path:    []any{i, "event_id"},
					Message: fmt.Sprintf("duplicates the event_id of item %d", first),
					Code:    CodeDuplicate,
				})
			}

			firstIndex[event.EventID] = i
		}

		batch = append(batch, event)
	}

	if len(issues) > 0 {
		return nil, nil, &ValidationError{Issues: issues}
	}

	return batch, ignored, nil
}

// byteOrderMark is U+FEFF in UTF-8, which some editors put at the start of
// a file. RFC 8259 (section 8.1) forbids senders to add it to JSON.
var byteOrderMark = []byte{0xEF, 0xBB, 0xBF}

// checkBody rejects bodies that are not valid JSON or that nest deeper
// than the decoders read, so the field decoders below only meet
// well-formed input. The caller has checked that body is valid UTF-8.
// batch is true for the body of a batch request.
func checkBody(body []byte, batch bool) *Issue {
	d := newDecoder(body)
	defer freeDecoder(d)

	if err := d.Validate(); err != nil {
		if issue := nestingIssue(body, batch, err); issue != nil {
			return issue
		}

		return &Issue{Path: []any{}, Message: describeSyntaxError(body, err), Code: CodeInvalidJSON}
	}

	return nil
}

// decoders holds idle decoders. Decoding a request takes up to four, and
// each jx.DecodeBytes allocates one. jx's own pool is not used because
// jx.PutDecoder gives a decoder without a buffer a new 512-byte one.
var decoders = sync.Pool{New: func() any { return new(jx.Decoder) }}

// newDecoder returns a pooled decoder of data. Values that the decoder
// returns, such as Raw, are slices of data, never of the decoder, so
// nothing decoded refers to it once it is freed.
func newDecoder(data []byte) *jx.Decoder {
	d := decoders.Get().(*jx.Decoder)
	d.ResetBytes(data)

	return d
}

// freeDecoder returns d to the pool without a reference to its data.
func freeDecoder(d *jx.Decoder) {
	d.ResetBytes(nil)
	decoders.Put(d)
}

func describeSyntaxError(body []byte, err error) string {
	if bytes.HasPrefix(body, byteOrderMark) {
		return "malformed JSON: the body starts with a UTF-8 byte order mark (EF BB BF); send the JSON without it"
	}

	var syntaxErr *json.SyntaxError
	var probe any

	if jsonErr := json.Unmarshal(body, &probe); jsonErr != nil {
		if ok := asSyntaxError(jsonErr, &syntaxErr); ok {
			return fmt.Sprintf("malformed JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
		}

		return "malformed JSON: " + jsonErr.Error()
	}

	// encoding/json accepted what jx rejected: nesting beyond jx's depth.
	return "malformed JSON: " + err.Error()
}

func asSyntaxError(err error, target **json.SyntaxError) bool {
	syntaxErr, ok := err.(*json.SyntaxError)
	if ok {
		*target = syntaxErr
	}

	return ok
}

func splitArray(body []byte) ([]jx.Raw, *Issue) {
	d := jx.DecodeBytes(body)
	if d.Next() != jx.Array {
		return nil, &Issue{Path: []any{}, Message: "must be a JSON array of events", Code: CodeInvalidType}
	}

	var items []jx.Raw
	err := d.Arr(func(d *jx.Decoder) error {
		if len(items) == MaxBatchEvents {
			return errTooMany
		}

		raw, err := d.Raw()
		items = append(items, raw)

		return err
	})

	switch {
	case errors.Is(err, errTooMany):
		return nil, &Issue{
			Path:    []any{},
			Message: fmt.Sprintf("must contain at most %d events", MaxBatchEvents),
			Code:    CodeTooBig,
		}
	case err != nil:
		return nil, &Issue{Path: []any{}, Message: "malformed JSON: " + err.Error(), Code: CodeInvalidJSON}
	case len(items) == 0:
		return nil, &Issue{Path: []any{}, Message: "must contain at least 1 event", Code: CodeTooSmall}
	}

	return items, nil
}

var errTooMany = errors.New("too many items")

// eventFields collects the fields of one event while it is decoded.
type eventFields struct {
	event  events.IngestedEvent
	seen   fieldSet
	issues []Issue
	// ignored lists the names of members that are not fields of an
	// event, with repeats.
	ignored []string
	// base is the path of the event in the request; issue paths are built
	// from it only when an issue is found, because valid events are the
	// common case.
	base []any
}

// fieldSet holds one bit per field of an event.
type fieldSet uint8

const (
	fieldEventID fieldSet = 1 << iota
	fieldEventType
	fieldSource
	fieldTimestamp
	fieldPayload
	fieldMetadata
)

func (f *eventFields) fail(path []any, code, format string, args ...any) {
	f.issues = append(f.issues, Issue{Path: path, Message: fmt.Sprintf(format, args...), Code: code})
}

// failField records an issue of the field key of the event.
func (f *eventFields) failField(key string, code, format string, args ...any) {
	f.fail(appendPath(f.base, key), code, format, args...)
}

// decodeEvent decodes one event and returns the names of its members that
// are not fields of an event, each once. ids assigns the event's id when it
// has none. A nil ids stands for a request of a single event, whose id
// newSingleID makes.
func decodeEvent(body []byte, path []any, receivedAt time.Time, ids *idGenerator) (events.IngestedEvent, []string, []Issue) {
	d := newDecoder(body)
	defer freeDecoder(d)

	if d.Next() != jx.Object {
		return events.IngestedEvent{}, nil, []Issue{{Path: appendPath(path), Message: "must be a JSON object", Code: CodeInvalidType}}
	}

	f := &eventFields{base: path}
	f.event.ReceivedAt = receivedAt
	f.event.Timestamp = receivedAt
	f.event.Payload = emptyObject
	f.event.Metadata = emptyObject

	err := d.ObjBytes(func(d *jx.Decoder, key []byte) error {
		return f.decodeField(d, key)
	})
	if err != nil {
		f.fail(appendPath(path), CodeInvalidJSON, "malformed JSON: %s", err)
	}

	if f.seen&fieldEventType == 0 {
		f.fail(appendPath(path, "event_type"), CodeRequired, "is required")
	}

	if f.seen&fieldSource == 0 {
		f.fail(appendPath(path, "source"), CodeRequired, "is required")
	}

	switch {
	case f.seen&fieldEventID != 0:
	case ids == nil:
		f.event.EventID = newSingleID(receivedAt)
	default:
		f.event.EventID = ids.next()
	}

	return f.event, uniqueNames(f.ignored), f.issues
}

func (f *eventFields) decodeField(d *jx.Decoder, key []byte) error {
	field := fieldOf(key)
	if field == 0 {
		f.ignored = append(f.ignored, string(key))
		return d.Skip()
	}

	// JSON leaves the meaning of a repeated member open, and keeping
	// either value would drop the other without a word.
	if f.seen&field != 0 {
		f.failField(string(key), CodeDuplicate, "appears more than once in the event; send each field once")
		return d.Skip()
	}
	f.seen |= field

	// The cases name their keys as constants so that no string is built
	// for the key of a valid field.
	switch field {
	case fieldEventID:
		return f.decodeEventID(d, "event_id")
	case fieldEventType:
		return f.decodeName(d, "event_type", &f.event.EventType)
	case fieldSource:
		return f.decodeName(d, "source", &f.event.Source)
	case fieldTimestamp:
		return f.decodeTimestamp(d, "timestamp")
	case fieldPayload:
		return f.decodeObject(d, "payload", &f.event.Payload)
	default:
		return f.decodeObject(d, "metadata", &f.event.Metadata)
	}
}

// fieldOf returns the field that key names, or 0 when key is not a field
// of an event.
func fieldOf(key []byte) fieldSet {
	switch string(key) {
	case "event_id":
		return fieldEventID
	case "event_type":
		return fieldEventType
	case "source":
		return fieldSource
	case "timestamp":
		return fieldTimestamp
	case "payload":
		return fieldPayload
	case "metadata":
		return fieldMetadata
	default:
		return 0
	}
}

func (f *eventFields) decodeString(d *jx.Decoder, key string) (string, bool, error) {
	if d.Next() != jx.String {
		f.failField(key, CodeInvalidType, "must be a string, got %s", d.Next())
		return "", false, d.Skip()
	}

	s, err := d.Str()
	if err != nil {
		return "", false, err
	}

	if strings.IndexByte(s, 0) >= 0 {
		f.failField(key, CodeInvalidString, "must not contain the NUL character (\\u0000)")
		return "", false, nil
	}

	return s, true, nil
}

func (f *eventFields) decodeEventID(d *jx.Decoder, key string) error {
	s, ok, err := f.decodeString(d, key)
	if !ok {
		return err
	}

	id, parseErr := uuid.Parse(s)
	if parseErr != nil || len(s) != 36 {
		f.failField(key, CodeInvalidString, "must be a UUID like 123e4567-e89b-12d3-a456-426614174000, got %q", truncate(s))
		return nil
	}

	if id == uuid.Nil {
		f.failField(key, CodeInvalidValue, "must not be the nil UUID")
		return nil
	}

	f.event.EventID = id

	return nil
}

func (f *eventFields) decodeName(d *jx.Decoder, key string, target *string) error {
	// jx decodes half of a surrogate pair as U+FFFD, so the escape is
	// looked for in the raw string, as in payloads.
	if d.Next() == jx.String {
		raw, err := d.Raw()
		if err != nil {
			return err
		}

		// Without escapes or NUL bytes, the name is the text between the
		// quotes, and neither a NUL nor a surrogate escape is in it.
		if bytes.IndexByte(raw, '\\') < 0 && bytes.IndexByte(raw, 0) < 0 {
			f.checkName(key, string(raw[1:len(raw)-1]), target)
			return nil
		}

		if escape := FindLoneSurrogate(raw); escape != "" {
			f.failField(key, CodeInvalidString, "contains the escape %s, half of a UTF-16 surrogate pair", escape)
			return nil
		}

		d = newDecoder(raw)
		defer freeDecoder(d)
	}

	s, ok, err := f.decodeString(d, key)
	if !ok {
		return err
	}

	f.checkName(key, s, target)

	return nil
}

// checkName stores s in target when it is a valid name, and records why
// not otherwise.
func (f *eventFields) checkName(key, s string, target *string) {
	problem, message := events.CheckEventName(s)
	switch problem {
	case events.NameValid:
		*target = s
	case events.NameEmpty:
		f.failField(key, CodeTooSmall, "%s", message)
	case events.NameTooLong:
		f.failField(key, CodeTooBig, "%s", message)
	default:
		f.failField(key, CodeInvalidString, "%s", message)
	}
}

func (f *eventFields) decodeTimestamp(d *jx.Decoder, key string) error {
	s, ok, err := f.decodeString(d, key)
	if !ok {
		return err
	}

	t, parseErr := time.Parse(time.RFC3339Nano, s)
	if upper := UpperTimestampSeparators(s); parseErr != nil && upper != s {
		t, parseErr = time.Parse(time.RFC3339Nano, upper)
	}
	if parseErr != nil || !StrictRFC3339(s) {
		f.failField(key, CodeInvalidString, "must be an RFC 3339 date-time like 2024-05-01T12:00:00Z, got %q", truncate(s))
		return nil
	}

	if !TimestampInRange(t) {
		f.failField(key, CodeInvalidValue, "must be between %s and %s, got %q",
			MinTimestamp.Format(time.RFC3339), MaxTimestamp.Format(time.RFC3339), s)
		return nil
	}

	f.event.Timestamp = t.UTC()

	return nil
}

// StrictRFC3339 reports whether s, which time.Parse read as RFC 3339, keeps
// to two rules of RFC 3339 that time.Parse does not check. The zone offset
// is at most 23:59, and a period, not a comma, comes before the fraction of
// a second.
func StrictRFC3339(s string) bool {
	return offsetInRange(s) && !strings.Contains(s, ",")
}

// offsetInRange reports whether the numeric zone offset that ends s, if
// any, has an hour of at most 23 and a minute of at most 59, as RFC 3339
// section 5.6 requires. time.Parse accepts offsets up to +24:00 and minutes
// of 60.
func offsetInRange(s string) bool {
	if len(s) < len("+00:00") {
		return true
	}

	offset := s[len(s)-len("+00:00"):]
	if offset[0] != '+' && offset[0] != '-' || offset[3] != ':' {
		return true
	}

	hour, hourErr := strconv.Atoi(offset[1:3])
	minute, minuteErr := strconv.Atoi(offset[4:6])

	return hourErr == nil && minuteErr == nil && hour <= 23 && minute <= 59
}

// UpperTimestampSeparators returns s with a lowercase "t" between date and time and
// a lowercase "z" zone in upper case. RFC 3339 allows both in lower case
// (section 5.6), and time.Parse accepts only the upper case.
func UpperTimestampSeparators(s string) string {
	if len(s) <= len("2006-01-02") {
		return s
	}

	b := []byte(s)
	if b[10] == 't' {
		b[10] = 'T'
	}
	if b[len(b)-1] == 'z' {
		b[len(b)-1] = 'Z'
	}

	return string(b)
}

func (f *eventFields) decodeObject(d *jx.Decoder, key string, target *json.RawMessage) error {
	if d.Next() != jx.Object {
		f.failField(key, CodeInvalidType, "must be a JSON object, got %s", d.Next())
		return d.Skip()
	}

	raw, err := d.Raw()
	if err != nil {
		return err
	}

	if plainValue(raw) {
		*target = bytes.TrimSpace(raw)
		return nil
	}

	valueDecoder := newDecoder(raw)
	issue := checkValue(valueDecoder, 1)
	freeDecoder(valueDecoder)

	if issue != nil {
		issue.Path = appendPath(appendPath(f.base, key), issue.Path...)
		f.issues = append(f.issues, *issue)
		return nil
	}

	if escape := FindLoneSurrogate(raw); escape != "" {
		f.fail(appendPath(appendPath(f.base, key), loneSurrogatePath(raw)...), CodeInvalidString,
			"contains the escape %s, half of a UTF-16 surrogate pair, which PostgreSQL rejects", escape)
		return nil
	}

	*target = bytes.TrimSpace(raw)

	return nil
}

func truncate(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) <= max {
		return s
	}

	return string([]rune(s)[:max]) + "…"
}
