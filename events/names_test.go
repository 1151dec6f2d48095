package events

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckEventName(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name    string
		value   string
		problem NameProblem
		message string
	}{
		{"plain", "checkout.error", NameValid, ""},
		{"inner ASCII space", "payment failed", NameValid, ""},
		{"accented letters", "ünïcode/<html>", NameValid, ""},
		{"at the length limit", strings.Repeat("é", EventNameMaxChars), NameValid, ""},
		{"empty", "", NameEmpty, "must not be empty"},
		{"over the length limit", strings.Repeat("a", EventNameMaxChars+1), NameTooLong, "must be at most 255 characters, got 256"},
		{"spaces only", "   ", NameBlank, "must not be blank"},
		{"Hangul filler only", "\u3164", NameBlank, "must not be blank"},
		{"blank Braille and grapheme joiner", "\u2800\u034f", NameBlank, "must not be blank"},
		{"variation selectors and a space", "\ufe0f \U000e0100", NameBlank, "must not be blank"},
		{"no-break space and Hangul filler", "\u00a0\u115f", NameBlank, "must not be blank"},
		{"letter before a grapheme joiner", "a\u034f", NameValid, ""},
		{"emoji with presentation selector", "\u2764\ufe0f", NameValid, ""},
		{"tab", "a\tb", NameUnprintable, unprintableMessage + "; character 2, U+0009, is not printable"},
		{"NEL", "x\u0085", NameUnprintable, unprintableMessage + "; character 2, U+0085, is not printable"},
		{"line separator", "a\u2028b", NameUnprintable, unprintableMessage + "; character 2, U+2028, is not printable"},
		{"zero-width space", "a\u200bb", NameUnprintable, unprintableMessage + "; character 2, U+200B, is not printable"},
		{"right-to-left override", "a\u202eb", NameUnprintable, unprintableMessage + "; character 2, U+202E, is not printable"},
		{"no-break space inside", "a\u00a0b", NameUnprintable, unprintableMessage + "; character 2, U+00A0, is not printable"},
		{"private use", "a\ue000", NameUnprintable, unprintableMessage + "; character 2, U+E000, is not printable"},
	}

	for _, tc := range cases {
		problem, message := CheckEventName(tc.value)
		require.Equal(t, tc.problem, problem, tc.name)
		require.Equal(t, tc.message, message, tc.name)
	}
}

func TestPrintableNameZeroWidthJoiner(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name  string
		value string
		want  bool
	}{
		{"family", "\U0001F468\u200d\U0001F469\u200d\U0001F467", true},
		{"technologist with skin tone", "\U0001F469\U0001F3FD\u200d\U0001F4BB", true},
		{"rainbow flag after selector", "deploy \U0001F3F3\ufe0f\u200d\U0001F308", true},
		{"heart on fire", "\u2764\ufe0f\u200d\U0001F525 alerts", true},
		{"between letters", "a\u200db", false},
		{"leading", "\u200d\U0001F525", false},
		{"trailing", "\U0001F525\u200d", false},
		{"alone", "\u200d", false},
		{"doubled", "\U0001F468\u200d\u200d\U0001F469", false},
		{"emoji then letter", "\U0001F525\u200da", false},
		{"skin tone alone before", "\U0001F3FD\u200d\U0001F4BB", false},
	}

	for _, tc := range cases {
		require.Equal(t, tc.want, PrintableName(tc.value), tc.name)
	}
}
