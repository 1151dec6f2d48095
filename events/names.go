package events

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EventNameMaxChars is the maximum length, in characters, of an event's
// event_type and source.
const EventNameMaxChars = 255

// NameProblem is the kind of defect that makes a string invalid as an
// event's event_type or source. Its zero value, NameValid, means none.
type NameProblem int

// Problems that CheckEventName reports, in the order it checks them.
const (
	NameValid NameProblem = iota
	NameEmpty
	NameTooLong
	NameBlank
	NameUnprintable
)

// unprintableMessage starts the reason given for a name that
// PrintableName rejects. Clients of the earlier API match on this text.
const unprintableMessage = "must contain printable characters only, without control characters"

// UnprintableReason returns the reason given for a name that PrintableName
// rejects, naming the first character that is not printable and its
// 1-based position in the name.
func UnprintableReason(s string) string {
	r, position := firstUnprintable(s)
	if position == 0 {
		return unprintableMessage
	}

	return fmt.Sprintf("%s; character %d, U+%04X, is not printable", unprintableMessage, position, r)
}

// CheckEventName returns the first problem that makes s invalid as an
// event's event_type or source, and the reason to show the client. It
// returns NameValid and "" when s is valid. The ingestion API and rule
// filters both use it, so a rule can only filter on names an event may have.
func CheckEventName(s string) (NameProblem, string) {
	length := utf8.RuneCountInString(s)

	switch {
	case length == 0:
		return NameEmpty, "must not be empty"
	case length > EventNameMaxChars:
		return NameTooLong, fmt.Sprintf("must be at most %d characters, got %d", EventNameMaxChars, length)
	case IsBlank(s):
		return NameBlank, "must not be blank"
	case !PrintableName(s):
		return NameUnprintable, UnprintableReason(s)
	default:
		return NameValid, ""
	}
}

// IsBlank reports whether s shows nothing. Each of its characters is white
// space, U+2800 (the blank Braille pattern), U+200D, a variation selector, or
// one of Unicode's Other_Default_Ignorable_Code_Point characters, such as
// the Hangul filler U+3164 and the combining grapheme joiner U+034F. Apart
// from white space, unicode.IsPrint accepts them all.
func IsBlank(s string) bool {
	for _, r := range s {
		if r < utf8.RuneSelf {
			if r != ' ' && (r < '\t' || r > '\r') {
				return false
			}

			continue
		}

		if !unicode.IsSpace(r) && r != blankBraille && r != zeroWidthJoiner &&
			!unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && !unicode.Is(unicode.Variation_Selector, r) {
			return false
		}
	}

	return true
}

// blankBraille is U+2800, the Braille pattern with no dots.
const blankBraille = '\u2800'

// zeroWidthJoiner is U+200D, which joins emoji into one picture, such as
// U+1F469 U+200D U+1F4BB for a woman technologist.
const zeroWidthJoiner = '\u200d'

// PrintableName reports whether every character of s is printable as
// unicode.IsPrint defines it: a letter, mark, number, punctuation, symbol or
// the ASCII space. It rejects the other spaces, line and paragraph
// separators, control and format characters (such as U+200B and U+202E),
// private-use and unassigned code points. The one exception is a U+200D
// zero-width joiner between two emoji, as in an emoji ZWJ sequence.
func PrintableName(s string) bool {
	_, position := firstUnprintable(s)

	return position == 0
}

// firstUnprintable returns the first character of s that PrintableName
// rejects and its 1-based position in s, or 0 for the position when there
// is none.
func firstUnprintable(s string) (rune, int) {
	position := 0
	for i, r := range s {
		position++
		if unicode.IsPrint(r) {
			continue
		}

		if r == zeroWidthJoiner && joinsEmoji(s[:i], s[i+utf8.RuneLen(r):]) {
			continue
		}

		return r, position
	}

	return 0, 0
}

// joinsEmoji reports whether a zero-width joiner between before and after
// joins two emoji. Emoji are symbols of category So. The one before the
// joiner may carry a skin-tone modifier (U+1F3FB to U+1F3FF) and then the
// emoji presentation selector U+FE0F, as Unicode's emoji ZWJ sequences do.
// NOTE: ZWJ in scripts such as Devanagari or Arabic is still rejected.
func joinsEmoji(before, after string) bool {
	before = strings.TrimSuffix(before, "\ufe0f")

	last, size := utf8.DecodeLastRuneInString(before)
	if last >= 0x1F3FB && last <= 0x1F3FF {
		before = before[:len(before)-size]
		last, size = utf8.DecodeLastRuneInString(before)
	}

	// An empty string decodes as U+FFFD, itself a symbol, so size is checked.
	next, nextSize := utf8.DecodeRuneInString(after)

	return size > 0 && nextSize > 0 && unicode.Is(unicode.So, last) && unicode.Is(unicode.So, next)
}
