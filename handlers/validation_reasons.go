package handlers

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/ogen-go/ogen/validate"
)

// The generated validators report bounds as "int: value 0 less than 1",
// "float: value -1.000000 less than 0.000000" or "invalid value: bad".
var (
	belowMinimumPattern = regexp.MustCompile(`value (\S+) less than (\S+)$`)
	aboveMaximumPattern = regexp.MustCompile(`value (\S+) greater than (\S+)$`)
	enumPattern         = regexp.MustCompile(`invalid value: (.*)$`)
)

// validationReason words a failed schema check of one field as a plain
// reason, such as "must be at least 1", keeping the validator's text for
// checks it does not know.
func validationReason(err error) string {
	message := err.Error()

	var minLength *validate.MinLengthError
	var maxLength *validate.MaxLengthError

	switch {
	case errors.Is(err, validate.ErrFieldRequired):
		return "is required"
	case errors.As(err, &minLength) && strings.HasPrefix(message, "string") && minLength.MinLength == 1:
		return "must not be empty"
	case errors.As(err, &minLength) && strings.HasPrefix(message, "string"):
		return "must be at least " + strconv.Itoa(minLength.MinLength) + " characters long"
	case errors.As(err, &minLength):
		return "must have at least " + plural(minLength.MinLength, "item")
	case errors.As(err, &maxLength) && strings.HasPrefix(message, "string"):
		return "must be at most " + strconv.Itoa(maxLength.MaxLength) + " characters long"
	case errors.As(err, &maxLength):
		return "must have at most " + plural(maxLength.MaxLength, "item")
	}

	// The validators word exclusive bounds like inclusive ones. A failing
	// value printed the same as its bound failed an exclusive bound (for
	// floats, up to the six decimals that %f prints), so it gets "greater
	// than" or "less than" instead of a reason that its own value meets.
	// NOTE: a value beyond an exclusive bound still reads "at least" or
	// "at most", because the error does not say which kind of bound failed.
	if match := belowMinimumPattern.FindStringSubmatch(message); match != nil {
		if match[1] == match[2] {
			return "must be greater than " + plainNumber(match[2])
		}

		return "must be at least " + plainNumber(match[2])
	}

	if match := aboveMaximumPattern.FindStringSubmatch(message); match != nil {
		if match[1] == match[2] {
			return "must be less than " + plainNumber(match[2])
		}

		return "must be at most " + plainNumber(match[2])
	}

	if match := enumPattern.FindStringSubmatch(message); match != nil {
		return strconv.Quote(match[1]) + " is not one of the allowed values"
	}

	return message
}

// plainNumber drops the trailing zeros that %f leaves, so "0.000000" reads
// "0" and "1.500000" reads "1.5".
func plainNumber(text string) string {
	value, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return text
	}

	return strconv.FormatFloat(value, 'f', -1, 64)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}

	return strconv.Itoa(n) + " " + noun + "s"
}
