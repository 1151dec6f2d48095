package handlers

import (
	"net/http"
	"strconv"
	"strings"
)

// ifMatchSyntax is the message of an If-Match header that is not * or a
// list of entity tags.
const ifMatchSyntax = `If-Match must be * or rule versions in quotes, such as "3" or "3", "4"; got %s`

// parseIfMatch returns the rule versions that an If-Match header accepts:
// none for an absent header or "*", which accept any current version.
// The header is "*" or a comma-separated list of entity tags (RFC 9110,
// section 13.1.1), and a rule's tag is its version in quotes. A weak tag
// (W/"3") never matches under the strong comparison If-Match uses, and
// neither does a quoted value that is not a version, so a list of only
// such tags fails the precondition with 412. A bare version such as 3 is
// taken as "3".
func parseIfMatch(header string, set bool) ([]int, error) {
	value := strings.TrimSpace(header)
	if !set || value == "" || value == "*" {
		return nil, nil
	}

	var versions []int
	var tags int
	for element := range strings.SplitSeq(value, ",") {
		tag := strings.TrimSpace(element)
		if tag == "" {
			continue
		}

		tags++
		version, matchable, ok := parseEntityTag(tag)
		if !ok {
			return nil, Errorf(http.StatusBadRequest, ifMatchSyntax, strconv.Quote(header))
		}

		if matchable {
			versions = append(versions, version)
		}
	}

	switch {
	case tags == 0:
		return nil, Errorf(http.StatusBadRequest, ifMatchSyntax, strconv.Quote(header))
	case len(versions) == 0:
		return nil, Errorf(http.StatusPreconditionFailed,
			"If-Match %s names no rule version: a rule's ETag is its version in quotes, such as \"3\", "+
				"and a weak tag (W/) never matches; read the rule again and retry with its ETag", strconv.Quote(header))
	}

	return versions, nil
}

// parseEntityTag reads one element of an If-Match list. ok is false when
// it is not an entity tag. matchable is false for a weak tag and for a
// strong tag that is not a positive version, which no rule's ETag equals.
func parseEntityTag(tag string) (version int, matchable, ok bool) {
	if bare, err := strconv.Atoi(tag); err == nil {
		return bare, bare > 0, true
	}

	weak := strings.HasPrefix(tag, "W/")
	opaque := strings.TrimPrefix(tag, "W/")
	if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' ||
		strings.Contains(opaque[1:len(opaque)-1], `"`) {
		return 0, false, false
	}

	version, err := strconv.Atoi(opaque[1 : len(opaque)-1])
	if err != nil || version < 1 || weak {
		return 0, false, true
	}

	return version, true, true
}
