package ingest

import "encoding/json"

// foundString is a string of the body, a member name or a value, in which
// a stringLocator's find matched.
type foundString struct {
	// path leads to the string: for a member name, the path of its
	// object followed by the name as encoding/json decodes it, with U+FFFD
	// for each byte that is not UTF-8.
	path []any
	key  bool
	// firstByte is the byte at which find matched, and eventOffset its
	// offset from the first byte of the event that contains it.
	firstByte   byte
	eventOffset int
}

// pathStep is one step of the path to a value: a member name as its raw
// JSON string, or an array index when name is nil.
type pathStep struct {
	name  []byte
	index int
}

// stringLocator walks a body that has the structure of valid JSON and
// lists the strings, member names included, in which find matches, with
// their paths. It reads the raw bytes itself rather than through jx,
// because it needs the raw text and offset of member names, which jx
// decodes, and it walks bodies with bytes that are not UTF-8. Member
// names are decoded only for the paths it reports.
type stringLocator struct {
	body []byte
	// find returns the offset of the first match in a raw JSON string,
	// quotes included, or -1 when it has none.
	find  func(raw []byte) int
	pos   int
	steps []pathStep
	// eventDepth is the depth of the values that are events: 0 for the
	// body of a single event, 1 for the items of a batch.
	eventDepth int
	eventStart int
	found      []foundString
}

// value walks the value at pos and leaves pos after it. It returns false
// when the body does not have the expected structure.
func (l *stringLocator) value() bool {
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

func (l *stringLocator) object() bool {
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

func (l *stringLocator) array() bool {
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
func (l *stringLocator) closeOrNext(closing byte) (done, ok bool) {
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
func (l *stringLocator) skipString() bool {
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

// check records the string that ends at pos and starts at start when find
// matches in it. name is the raw string when it is a member name, and nil
// for a value.
func (l *stringLocator) check(start int, name []byte) {
	at := l.find(l.body[start:l.pos])
	if at < 0 {
		return
	}

	path := l.path()
	if name != nil {
		path = append(path, decodeName(name))
	}

	first := start + at
	l.found = append(l.found, foundString{
		path:        path,
		key:         name != nil,
		firstByte:   l.body[first],
		eventOffset: first - l.eventStart,
	})
}

// path returns the path of the value being walked.
func (l *stringLocator) path() []any {
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

func (l *stringLocator) peek() byte {
	if l.pos >= len(l.body) {
		return 0
	}

	return l.body[l.pos]
}

func (l *stringLocator) skipSpace() {
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
