package ingest

import (
	"cmp"
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

	if checkBody(clean, batch) != nil {
		return []Issue{whole}
	}

	// The copy differs from body only inside strings, so body has the
	// structure of valid JSON and the locator can walk it.
	locator := &stringLocator{body: body, find: firstInvalidUTF8}
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

// firstInvalidUTF8 returns the offset in s of its first byte that is not
// part of a valid UTF-8 sequence, or -1 when there is none.
func firstInvalidUTF8(s []byte) int {
	for offset := 0; offset < len(s); {
		r, size := utf8.DecodeRune(s[offset:])
		if r == utf8.RuneError && size == 1 {
			return offset
		}

		offset += size
	}

	return -1
}

// firstPerEvent returns one issue for each event that has a string with
// invalid UTF-8, and the issue names the first such string of the event.
// found is in body order, so the strings of one event are adjacent.
func firstPerEvent(found []foundString, batch bool) []Issue {
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
			Message: fmt.Sprintf("%s (byte 0x%02X at offset %d of the event)", message, s.firstByte, s.eventOffset),
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
