package ingest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// invalidUTF8Issues returns the issues of a body that is not valid UTF-8.
// DecodeEvent and DecodeBatch call it only after utf8.Valid has failed, so
// a valid body never pays for this search.
//
// When every byte that is not UTF-8 lies inside a string, the first such
// string of each event is named by its path, which for a batch starts at
// the item's index. The issues that decoding finds in a copy of body with
// each of those bytes replaced by U+FFFD follow, so that one response
// lists every problem of the request. When a byte lies outside any
// string, or the copy is not valid JSON either, one issue names the whole
// body.
func invalidUTF8Issues(body []byte, receivedAt time.Time, batch bool) []Issue {
	clean, invalid := replaceInvalidUTF8(body)
	whole := Issue{
		Path:    []any{},
		Message: fmt.Sprintf("body is not valid UTF-8 (byte 0x%02X at offset %d)", body[invalid[0]], invalid[0]),
		Code:    CodeInvalidJSON,
	}

	if checkBody(clean) != nil {
		return []Issue{whole}
	}

	// The copy differs from body only inside strings, so body has the
	// structure of valid JSON and the locator can walk it.
	locator := &utf8Locator{body: body, invalid: invalid}
	if batch {
		locator.eventDepth = 1
	}

	if !locator.value() || len(locator.found) == 0 {
		return []Issue{whole}
	}

	var err error
	if batch {
		_, _, err = DecodeBatch(clean, receivedAt)
	} else {
		_, _, err = DecodeEvent(clean, receivedAt)
	}

	var others []Issue
	if validationErr, ok := err.(*ValidationError); ok {
		others = validationErr.Issues
	}

	// An issue of the whole copy, such as a batch that is not an array,
	// leaves no events for the strings to belong to.
	for _, issue := range others {
		if len(issue.Path) == 0 {
			return append([]Issue{whole}, others...)
		}
	}

	issues := firstPerEvent(locator.found, batch)
	issues = append(issues, others...)

	if batch {
		// A stable sort keeps each item's UTF-8 issue before its other
		// issues.
		slices.SortStableFunc(issues, func(a, b Issue) int {
			return cmp.Compare(itemIndex(a.Path), itemIndex(b.Path))
		})
	}

	return issues
}

// replaceInvalidUTF8 returns a copy of body with each byte that is not
// part of a valid UTF-8 sequence replaced by U+FFFD, as encoding/json
// replaces them, and the offsets of those bytes in body in ascending
// order.
func replaceInvalidUTF8(body []byte) ([]byte, []int) {
	clean := make([]byte, 0, len(body)+16)
	var invalid []int

	for offset := 0; offset < len(body); {
		r, size := utf8.DecodeRune(body[offset:])
		if r == utf8.RuneError && size == 1 {
			invalid = append(invalid, offset)
			clean = utf8.AppendRune(clean, utf8.RuneError)
		} else {
			clean = append(clean, body[offset:offset+size]...)
		}

		offset += size
	}

	return clean, invalid
}

// firstPerEvent returns one issue for each event that has a string with
// invalid UTF-8, and the issue names the first such string of the event.
// found is in body order, so the strings of one event are adjacent.
func firstPerEvent(found []invalidString, batch bool) []Issue {
	issues := make([]Issue, 0, len(found))
	for i, s := range found {
		if i > 0 && (!batch || itemIndex(s.path) == itemIndex(found[i-1].path)) {
			continue
		}

		message := "is not valid UTF-8"
		if s.key {
			message = "key is not valid UTF-8"
		}

		issues = append(issues, Issue{
			Path:    s.path,
			Message: fmt.Sprintf("%s (byte 0x%02X at offset %d of the event)", message, s.invalidByte, s.eventOffset),
			Code:    CodeInvalidJSON,
		})
	}

	return issues
}

// itemIndex returns the batch index that path starts with, or -1 for a
// path that starts with none.
func itemIndex(path []any) int {
	if len(path) == 0 {
		return -1
	}

	index, ok := path[0].(int)
	if !ok {
		return -1
	}

	return index
}

// invalidString is a string of the body, a member name or a value, that
// contains bytes that are not valid UTF-8.
type invalidString struct {
	// path leads to the string: for a member name, the path of its
	// object followed by the name with U+FFFD for each invalid byte.
	path []any
	key  bool
	// invalidByte is the first invalid byte of the string, and eventOffset
	// its offset from the first byte of the event that contains it.
	invalidByte byte
	eventOffset int
}

// pathStep is one step of the path to a value: a member name as its raw
// JSON string, or an array index when name is nil.
type pathStep struct {
	name  []byte
	index int
}

// utf8Locator walks a body that is valid JSON apart from invalid UTF-8
// inside strings and lists the strings that contain the invalid bytes.
// Member names are decoded only for the paths it reports.
type utf8Locator struct {
	body []byte
	// invalid contains the offsets of the invalid bytes in ascending
	// order, and next is the index of the first one after the strings
	// walked so far.
	invalid []int
	next    int
	pos     int
	steps   []pathStep
	// eventDepth is the depth of the values that are events: 0 for the
	// body of a single event, 1 for the items of a batch.
	eventDepth int
	eventStart int
	found      []invalidString
}

// value walks the value at pos and leaves pos after it. It returns false
// when the body does not have the expected structure.
func (l *utf8Locator) value() bool {
	l.skipSpace()
	if l.pos >= len(l.body) {
		return false
	}

	if len(l.steps) == l.eventDepth {
		l.eventStart = l.pos
	}

	switch l.body[l.pos] {
	case '{':
		return l.object()
	case '[':
		return l.array()
	case '"':
		start := l.pos
		if !l.skipString() {
			return false
		}

		l.check(start, nil)

		return true
	default:
		// A number, true, false or null.
		for l.pos < len(l.body) && !isDelimiter(l.body[l.pos]) {
			l.pos++
		}

		return true
	}
}

func (l *utf8Locator) object() bool {
	l.pos++
	l.skipSpace()
	if l.peek() == '}' {
		l.pos++
		return true
	}

	for {
		l.skipSpace()
		start := l.pos
		if l.peek() != '"' || !l.skipString() {
			return false
		}

		name := l.body[start:l.pos]
		l.check(start, name)

		l.skipSpace()
		if l.peek() != ':' {
			return false
		}
		l.pos++

		l.steps = append(l.steps, pathStep{name: name})
		if !l.value() {
			return false
		}
		l.steps = l.steps[:len(l.steps)-1]

		if done, ok := l.closeOrNext('}'); done || !ok {
			return ok
		}
	}
}

func (l *utf8Locator) array() bool {
	l.pos++
	l.skipSpace()
	if l.peek() == ']' {
		l.pos++
		return true
	}

	for index := 0; ; index++ {
		l.steps = append(l.steps, pathStep{index: index})
		if !l.value() {
			return false
		}
		l.steps = l.steps[:len(l.steps)-1]

		if done, ok := l.closeOrNext(']'); done || !ok {
			return ok
		}
	}
}

// closeOrNext reads the comma before the next element, or the closing
// bracket, after which done is true.
func (l *utf8Locator) closeOrNext(closing byte) (done, ok bool) {
	l.skipSpace()
	switch l.peek() {
	case ',':
		l.pos++
		return false, true
	case closing:
		l.pos++
		return true, true
	default:
		return false, false
	}
}

// skipString moves pos from the opening quote of a string to the byte
// after its closing quote.
func (l *utf8Locator) skipString() bool {
	for l.pos++; l.pos < len(l.body); l.pos++ {
		switch l.body[l.pos] {
		case '\\':
			l.pos++
		case '"':
			l.pos++
			return true
		}
	}

	return false
}

// check records the string that ends at pos and starts at start when it
// contains invalid bytes. name is the raw string when it is a member
// name, and nil for a value.
func (l *utf8Locator) check(start int, name []byte) {
	for l.next < len(l.invalid) && l.invalid[l.next] < start {
		l.next++
	}

	if l.next == len(l.invalid) || l.invalid[l.next] >= l.pos {
		return
	}

	first := l.invalid[l.next]
	for l.next < len(l.invalid) && l.invalid[l.next] < l.pos {
		l.next++
	}

	path := l.path()
	if name != nil {
		path = append(path, decodeName(name))
	}

	l.found = append(l.found, invalidString{
		path:        path,
		key:         name != nil,
		invalidByte: l.body[first],
		eventOffset: first - l.eventStart,
	})
}

// path returns the path of the value being walked.
func (l *utf8Locator) path() []any {
	path := make([]any, 0, len(l.steps)+1)
	for _, step := range l.steps {
		if step.name == nil {
			path = append(path, step.index)
		} else {
			path = append(path, decodeName(step.name))
		}
	}

	return path
}

// decodeName returns the member name that the raw JSON string spells,
// with U+FFFD for each invalid byte as in the copy that is decoded.
func decodeName(raw []byte) string {
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return string(raw)
	}

	return name
}

func (l *utf8Locator) peek() byte {
	if l.pos >= len(l.body) {
		return 0
	}

	return l.body[l.pos]
}

func (l *utf8Locator) skipSpace() {
	for l.pos < len(l.body) && isSpace(l.body[l.pos]) {
		l.pos++
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func isDelimiter(c byte) bool {
	return isSpace(c) || c == ',' || c == ']' || c == '}'
}
