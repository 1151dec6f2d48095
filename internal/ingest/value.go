package ingest

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/go-faster/jx"
)

// checkValue walks a well-formed JSON value and reports the first part that
// PostgreSQL's JSONB cannot store exactly or that nests deeper than
// MaxDepth. The issue's path is relative to the value; each level adds its
// key or index on the way out, so a valid value costs no path allocations.
func checkValue(d *jx.Decoder, depth int) *Issue {
	var issue *Issue

	switch d.Next() {
	case jx.Object:
		if depth > MaxDepth {
			return depthIssue([]any{})
		}

		_ = d.ObjBytes(func(d *jx.Decoder, key []byte) error {
			if bytes.IndexByte(key, 0) >= 0 {
				issue = &Issue{Path: []any{string(key)}, Message: "key must not contain the NUL character (\\u0000)", Code: CodeInvalidString}
				return errStop
			}

			issue = checkValue(d, depth+1)
			if issue != nil {
				issue.Path = append([]any{string(key)}, issue.Path...)
			}

			return stopOn(issue)
		})
	case jx.Array:
		if depth > MaxDepth {
			return depthIssue([]any{})
		}

		index := 0
		_ = d.Arr(func(d *jx.Decoder) error {
			issue = checkValue(d, depth+1)
			if issue != nil {
				issue.Path = append([]any{index}, issue.Path...)
			}
			index++

			return stopOn(issue)
		})
	case jx.String:
		s, _ := d.StrBytes()
		if bytes.IndexByte(s, 0) >= 0 {
			issue = &Issue{Path: []any{}, Message: "must not contain the NUL character (\\u0000)", Code: CodeInvalidString}
		}
	case jx.Number:
		n, _ := d.Num()
		if fitsNumeric(n) {
			break
		}

		if msg := checkNumber(n.String()); msg != "" {
			issue = &Issue{Path: []any{}, Message: msg, Code: CodeInvalidValue}
		}
	default:
		_ = d.Skip()
	}

	return issue
}

// plainValue reports, in one pass over the bytes, that checkValue finds no
// issue in raw, a well-formed JSON value, and that FindLoneSurrogate finds
// no escape in it. It holds for a value without backslashes or NUL bytes,
// nested at most MaxDepth deep, whose numbers fitsNumeric accepts. A false
// result means checkValue must decide.
func plainValue(raw []byte) bool {
	depth := 0
	inString := false
	// numberLength counts the characters of the number being read.
	numberLength := 0

	for _, c := range raw {
		if inString {
			switch c {
			case '"':
				inString = false
			case '\\', 0:
				return false
			}

			continue
		}

		switch c {
		case '"':
			inString = true
			numberLength = 0
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return false
			}
			numberLength = 0
		case '}', ']':
			depth--
			numberLength = 0
		case 'e', 'E':
			// Outside strings, an e after a digit is a number's exponent.
			// The e of true and false follows a letter.
			if numberLength > 0 {
				return false
			}
		case '-', '+', '.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			numberLength++
			if numberLength >= maxPlainNumberLength {
				return false
			}
		default:
			numberLength = 0
		}
	}

	return true
}

var errStop = fmt.Errorf("stop")

func stopOn(issue *Issue) error {
	if issue != nil {
		return errStop
	}

	return nil
}

func depthIssue(path []any) *Issue {
	return &Issue{
		Path:    path,
		Message: fmt.Sprintf("nests objects and arrays deeper than %d levels", MaxDepth),
		Code:    CodeTooBig,
	}
}

// maxPlainNumberLength bounds the numbers that fitsNumeric accepts.
const maxPlainNumberLength = 1000

// fitsNumeric reports, without allocating, that checkNumber accepts a JSON
// number. A number without an exponent and shorter than
// maxPlainNumberLength has fewer digits on each side of the decimal point
// than PostgreSQL's limits. A false result means checkNumber must decide.
func fitsNumeric(n jx.Num) bool {
	return len(n) < maxPlainNumberLength && !bytes.ContainsAny(n, "eE")
}

// checkNumber returns why a JSON number cannot be stored exactly as a
// PostgreSQL numeric, or "" when it can.
func checkNumber(text string) string {
	mantissa, exponentText, _ := cutAny(text, "eE")
	mantissa = trimSign(mantissa)
	intPart, fracPart, _ := cutAny(mantissa, ".")

	exponent := 0
	if exponentText != "" {
		e, err := strconv.Atoi(exponentText)
		if err != nil || e > 1_000_000 || e < -1_000_000 {
			return fmt.Sprintf("number %s is out of the range PostgreSQL can store", abbreviate(text))
		}

		exponent = e
	}

	// PostgreSQL keeps every written fractional digit, trailing zeros
	// included, as the scale, even for zero: it rejects 0e-20000.
	scale := len(fracPart) - exponent
	if scale > maxNumericScale {
		return fmt.Sprintf("number %s has more than %d digits after the decimal point", abbreviate(text), maxNumericScale)
	}

	digits := trimLeadingZeros(intPart + fracPart)
	if digits == "" {
		return ""
	}

	// The value is 0.<digits> x 10^point.
	point := len(intPart) - (len(intPart+fracPart) - len(digits)) + exponent
	if point > maxNumericIntegerDigits {
		return fmt.Sprintf("number %s has more than %d digits before the decimal point", abbreviate(text), maxNumericIntegerDigits)
	}

	return ""
}

func cutAny(s, chars string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if bytes.IndexByte([]byte(chars), s[i]) >= 0 {
			return s[:i], s[i+1:], true
		}
	}

	return s, "", false
}

func trimSign(s string) string {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		return s[1:]
	}

	return s
}

func trimLeadingZeros(s string) string {
	for len(s) > 0 && s[0] == '0' {
		s = s[1:]
	}

	return s
}

func abbreviate(s string) string {
	if len(s) <= 32 {
		return s
	}

	return s[:32] + "…"
}

// FindLoneSurrogate returns the first \u escape of raw that encodes half of
// a UTF-16 surrogate pair without the other half, or "" when there is none.
// PostgreSQL's json parser rejects such escapes, while Go and jx replace
// them with U+FFFD. raw must be valid JSON, so every backslash starts an
// escape inside a string.
func FindLoneSurrogate(raw []byte) string {
	for i := 0; i < len(raw); i++ {
		next := bytes.IndexByte(raw[i:], '\\')
		if next < 0 {
			return ""
		}
		i += next

		if i+1 >= len(raw) || raw[i+1] != 'u' {
			i++
			continue
		}

		r := parseEscape(raw, i)
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if next := parseEscape(raw, i+6); next >= 0xDC00 && next <= 0xDFFF {
				i += 11
				continue
			}

			return string(raw[i : i+6])
		case r >= 0xDC00 && r <= 0xDFFF:
			return string(raw[i : i+6])
		}

		i += 5
	}

	return ""
}

// loneSurrogatePath returns the path below raw, a JSON value with an
// escape that FindLoneSurrogate finds, of the first string that contains
// one: member names and array indexes from the outside in, ending with the
// name when a member name contains it, and empty when raw is that string.
func loneSurrogatePath(raw []byte) []any {
	locator := &stringLocator{body: raw, find: func(s []byte) int {
		if FindLoneSurrogate(s) == "" {
			return -1
		}

		return 0
	}}

	if !locator.value() || len(locator.found) == 0 {
		return nil
	}

	return locator.found[0].path
}

// parseEscape returns the code unit of the \uXXXX escape at raw[i:], or -1.
func parseEscape(raw []byte, i int) int {
	if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
		return -1
	}

	n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
	if err != nil {
		return -1
	}

	return int(n)
}
